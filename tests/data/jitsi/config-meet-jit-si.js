// A config.js like that of meet.jit.si (written for palabre's tests from the facts known about
// that instance, not copied): guests log in anonymously on a separate domain, the moderator signs
// in through a token page, and the WebSocket is protocol-relative.
var config = {
    hosts: {
        domain: 'meet.jit.si',
        anonymousdomain: 'guest.meet.jit.si',
        muc: 'conference.meet.jit.si',
        focus: 'focus.meet.jit.si',
    },
    bosh: '//meet.jit.si/http-bind',
    websocket: '//meet.jit.si/xmpp-websocket',
    websocketKeepAliveUrl: 'https://meet.jit.si/_unlock?room={room}',
    tokenAuthUrl: 'https://auth.meet.jit.si/login?room={room}&state={state}',
    preferBosh: false,
    bridgeChannel: { preferSctp: true },
    p2p: { enabled: true, iceTransportPolicy: 'all' },
    startAudioMuted: 25,
    channelLastN: -1,
    disableDeepLinking: false,
    conferenceInfo: { alwaysVisible: ['recording', 'raised-hands-count'] },
};
config.deploymentInfo = { shard: 'meet-jit-si-eu-1', region: 'eu', userRegion: 'eu' };
