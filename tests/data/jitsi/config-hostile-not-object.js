// config is a string, not an object.
var config = 'hosts.domain=a.example';
