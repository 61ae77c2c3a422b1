var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' } };
throw new TypeError('this instance is closed');
