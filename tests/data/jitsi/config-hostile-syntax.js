var config = { hosts: { domain: 'a.example', muc: 'conference.a.example' }
<html><body>Not found</body></html>
