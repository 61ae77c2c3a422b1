// Never finishes.
var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' } };
for (;;) { config.n = (config.n || 0) + 1; }
