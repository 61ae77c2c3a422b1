// Asks for a one-gigabyte string.
var config = { hosts: { domain: 'x'.repeat(1e9), muc: 'conference.a.example' } };
