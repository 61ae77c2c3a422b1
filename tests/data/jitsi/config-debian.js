/* A config.js in the shape of the stock Debian jitsi-meet package (written for palabre's tests,
 * not copied): SSI prelude, an object literal with string concatenation, comments, trailing
 * commas, a function, a regular expression and settings palabre does not read. */

var subdir = '<!--# echo var="subdir" default="" -->';
var subdomain = '<!--# echo var="subdomain" default="" -->';

if (subdomain) {
    // "team." becomes "team." again, "a.b." becomes "a_b.".
    subdomain = subdomain.substr(0, subdomain.length - 1).split('.').join('_').toLowerCase() + '.';
}

// Without SSI on the web server the placeholders arrive as written: blank them.
if (subdir.startsWith('<!--')) {
    subdir = '';
}
if (subdomain.startsWith('<!--')) {
    subdomain = '';
}

var enableJaaS = false;

function pickResolution(wanted) {
    var known = [ 180, 360, 720, 1080 ];
    return known.filter(function (r) { return r <= wanted; }).pop();
}

var config = {
    // Connection
    hosts: {
        // The XMPP domain.
        domain: 'jitsi-meet.example.com',

        // authdomain: 'jitsi-meet.example.com',
        // focus: 'focus.jitsi-meet.example.com',

        // Rooms live here.
        muc: 'conference.' + subdomain + 'jitsi-meet.example.com',
    },

    bosh: 'https://jitsi-meet.example.com/' + subdir + 'http-bind',
    websocket: 'wss://jitsi-meet.example.com/' + subdir + 'xmpp-websocket',

    // preferBosh: false,

    bridgeChannel: {
        // preferSctp: true,
    },

    testing: {
        enableCodecSelectionAPI: true,
    },

    resolution: pickResolution(800),
    constraints: {
        video: {
            height: { ideal: 720, max: 720, min: 240, },
        },
    },

    startAudioOnly: false,
    startAudioMuted: 10,
    startWithAudioMuted: false,

    p2p: {
        enabled: true,
        stunServers: [ { urls: 'stun:stun.example.org:3478' }, ],
    },

    // Only rooms whose name matches are recorded (an example of a regex literal).
    recordableRooms: /^[a-z0-9-]+$/i,

    analytics: { disabled: true, },

    deploymentInfo: {},
};

/* eslint-disable no-unused-vars */
var interfaceConfigOverride = { SHOW_JITSI_WATERMARK: !enableJaaS, };
