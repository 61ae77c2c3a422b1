// Recurses without end.
function deeper(n) { return deeper(n + 1) + 1; }
var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' }, depth: deeper(0) };
