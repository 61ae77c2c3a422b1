// A config.js in the statement form that docker-jitsi-meet's web container writes (written for
// palabre's tests, not copied): the XMPP domain is an internal name, not the web host.
var config = {};

if (!config.hasOwnProperty('hosts')) config.hosts = {};

config.hosts.domain = 'meet.jitsi';
config.focusUserJid = 'focus@auth.meet.jitsi';

var subdir = '<!--# echo var="subdir" default="" -->';
var subdomain = "<!--# echo var="subdomain" default="" -->";
if (subdir.startsWith('<!--')) {
    subdir = '';
}
if (subdomain) {
    subdomain = subdomain.substring(0, subdomain.length - 1).split('.').join('_').toLowerCase() + '.';
}
config.hosts.muc = 'muc.' + subdomain + 'meet.jitsi';
config.hosts.anonymousdomain = 'guest.meet.jitsi';
config.hosts.authdomain = 'meet.jitsi';

config.bosh = '/' + subdir + 'http-bind';
config.websocket = 'wss://public.example/' + subdir + 'xmpp-websocket';

config.bridgeChannel = {
    preferSctp: false
};

config.startVideoMuted = 10;
config.startWithVideoMuted = false;
config.startAudioOnly = true;
config.startWithAudioMuted = true;

config.p2p = {};
config.p2p.enabled = false;

// Settings from the environment come last, and may repeat earlier ones.
config.flags = { sourceNameSignaling: true, receiveMultipleVideoStreams: true };
config.prejoinConfig = { enabled: true, hideDisplayName: false };
