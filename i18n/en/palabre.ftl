# palabre — English strings (the reference locale).
# Every key here must exist in i18n/fr/palabre.ftl too; tests/i18n.rs checks it.
# Numbers with decimals arrive already formatted (as text); counts arrive as numbers.

## Window

app-title = palabre
heading = Audio set-up
intro = Choose your microphone and speakers, set the noise gate on the level meter, then try the echo test.
dismiss = Dismiss

## Language

language-label = Language
language-system = System language
language-en = English
language-fr = Français

## Devices

input-device-label = Microphone
output-device-label = Speakers
device-system-default = System default
device-default-mark = { $name } (default)
device-missing = { $name } (not found)
device-refresh = Look for devices again
test-sound-play = Play a test sound
input-opened = Microphone in use: { $name }
output-opened = Speakers in use: { $name }
input-not-open = The microphone is not open yet.
output-not-open = The speakers are not open yet.
device-lost-fallback = The device “{ $name }” went away; palabre now uses “{ $fallback }”.
device-lost-none = The device “{ $name }” went away and no other device could be opened.

## Level meter and noise gate

level-heading = Microphone level
level-value = { $level } dB
level-silence = silence
level-a11y = Microphone level: { $level } dB. The noise gate opens above { $threshold } dB.
gate-checkbox = Noise gate: send sound only while I speak
gate-threshold-label = The gate opens above
gate-hint = Speak normally: the bar should pass the marker. Stay quiet: it should stay to the left of it.
speaking = Speaking
silent = Not speaking
gate-off = Gate off: everything is sent

## Processing

processing-heading = Sound processing
denoise-checkbox = Noise suppression
echo-cancel-checkbox = Echo cancellation
preset-label = Sound quality
preset-sober = Sober (low bandwidth)
preset-standard = Standard
preset-high = High (music)
transmit-label = Send my voice
transmit-voice = When I speak (voice activation)
transmit-push-to-talk = While I hold a key (push-to-talk)
push-to-talk-hint = Hold { $key } to talk while this window is in front.
push-to-talk-hint-global = Hold { $key } to talk, even while another window is in front.

## Echo test

echo-test-heading = Echo test
echo-test-explain = You hear yourself through the whole call chain, as the others would hear you.
echo-test-start = Start the echo test
echo-test-stop = Stop the echo test
echo-test-starting = Starting…
echo-test-stopping = Stopping…
echo-test-running = The echo test is running: speak, then listen.
echo-summary-sound = Last echo test: the call chain carried { $seconds } s of sound in { $packets ->
        [one] one packet
       *[other] { $packets } packets
    } ({ $kilobytes } kB).
echo-summary-network = Packets lost: { $lost }; arrived too late: { $late }; rebuilt by error correction: { $recovered }. Missing 10 ms pieces filled in: { $concealed }.
echo-summary-delay = Delay added by palabre: { $delay } ms, on top of your devices' own (mean wait in the jitter buffer: { $jitter } ms).

## Errors (from the audio engine)

error-heading = Something went wrong
error-no-such-device = There is no { $direction ->
        [input] microphone
       *[output] speaker
    } called “{ $wanted }”. { $count ->
        [0] No other one was found.
       *[other] Available: { $available }.
    }
error-no-device = No { $direction ->
        [input] microphone
       *[output] speakers
    } could be found on this computer.
error-open-failed = The { $direction ->
        [input] microphone
       *[output] speakers
    } “{ $name }” could not be opened: { $reason }
error-wav = The sound file { $path } could not be used: { $reason }
error-codec = The Opus sound codec failed: { $reason }
error-invalid-setting = A setting is not valid: { $reason }
engine-stopped = The audio engine stopped. Restart palabre to use sound again.

## Settings file

settings-heading = Settings
settings-save-failed = Your settings could not be saved: { $reason }
config-create-dir-failed = the folder { $path } could not be created: { $reason }
config-serialize-failed = the settings could not be written as TOML: { $reason }
config-write-failed = the file { $path } could not be written: { $reason }
config-rename-failed = the file { $from } could not be renamed to { $to }: { $reason }
config-no-writer = no thread could be started to write them
decibel-suffix = { " " }dB
settings-no-dir = No folder was found to keep your settings: changes last until you close palabre.
config-corrupt = The settings file { $path } could not be read ({ $reason }). It was kept as { $backup } and palabre started with default settings.
config-corrupt-not-kept = The settings file { $path } could not be read ({ $reason }) and could not be set aside ({ $error }). palabre started with default settings; saving them will replace that file.

## Start screen

home-heading = Join a meeting
home-intro = Paste a meeting link, or pick a server from the directory below.
link-label = Meeting link or server address
link-hint = mumble://server/channel, https://meet.example.org/Room or a server name
link-open = Open
open-named = Open { $name }
link-error-heading = This link could not be opened
link-error = palabre could not read this link: { $reason }
link-empty = the link is empty: paste a mumble:// link, a Jitsi Meet https:// link, or a server name
link-not-a-link = “{ $input }” is not a meeting link palabre understands: expected mumble://host, a Jitsi Meet https:// link, or a server name
link-unknown-scheme = palabre does not open “{ $scheme }:” links: expected mumble://host, a Jitsi Meet https:// link, or a server name
link-missing-scheme = “{ $input }” has no scheme: write https://{ $input } for a Jitsi Meet room, or mumble://{ $input } for a Mumble server
link-missing-host = the link names no server: put the server name after “://”
link-invalid-host = “{ $host }” is not a valid server name or address
link-invalid-port = “{ $port }” is not a valid port: use a number from 1 to 65535
link-jitsi-user-info = Jitsi Meet links carry no user name or password: remove the part before “@” in the server name
link-missing-room = { $link } has no room name: add the room after the last slash
link-too-many-segments = { $link } has too many parts after the server name: a Jitsi Meet link is https://server/room or https://server/tenant/room
link-invalid-room-name = “{ $room }” is not a valid room name: it may not contain / ? # @ : or control characters
link-room-name-too-long = the room name is too long: { $length } bytes, at most 256
link-invalid-tenant = “{ $tenant }” is not a valid tenant name: it may not contain / ? # @ : or control characters, nor be longer than 256 bytes
link-too-many-channels = the channel path is { $count } channels deep; palabre follows at most 32
link-channel-name-too-long = a channel name in the link is { $length } bytes long; at most 512 are allowed
link-invalid-text = the { $part ->
    [username] user name
    [password] password
    [channel] channel name
    [tenant] tenant name
   *[room] room name
} in the link is not valid text once its %-escapes are decoded
audio-setup-open = Audio set-up and echo test
back = Back
title-with-host = { $name } — { $host }
favourites-heading = Favourites
favourites-empty = No favourites yet: use the star next to a server or a room.
favourite-add = Add to favourites
favourite-remove = Remove from favourites
favourite-add-named = Add { $name } to favourites
favourite-remove-named = Remove { $name } from favourites
recent-heading = Recent rooms
recent-empty = The rooms you join will be listed here.

own-servers-heading = Your servers
own-servers-empty = None yet: add the server of your association or workplace below.
own-server-remove = Remove
own-server-remove-named = Remove { $name } from your servers
own-server-add-heading = Add a server
own-server-name-label = Name
own-server-name-hint = e.g. Our association
own-server-address-label = Address
own-server-address-hint = voice.example.org or a link
own-server-protocol-label = Type
own-server-add = Add
own-server-hint = The address is a server's name (with :port if needed) or any link to it; a link's type wins over the one chosen here. Nothing is contacted until you open it.
own-server-no-address = Type the server's address first.
own-server-not-an-address = “{ $address }” is not a server address: type a name such as voice.example.org, or paste a link.
own-server-already-there = { $host } is already among your servers.
own-server-full = You have { $max } servers already: remove one to add another.

## Directory

directory-heading = Directory
directory-intro = Public servers known to palabre. Nothing is contacted until you join.
directory-search-label = Search
directory-search-hint = name, town, organisation, country
directory-protocol-label = Kind
protocol-all = All
protocol-jitsi = Jitsi Meet
protocol-mumble = Mumble
directory-none = No server matches this search.
instance-details = { $host } · { $organisation } · { $country } · { $protocol }
organisation-kind = { $kind ->
    [association] association
    [associative-isp] associative ISP
    [cooperative] cooperative
    [research-network] research network
    [free-software-association] free-software association
    [community-network] community network
    [official-instance] the official instance
    [hacklab-collective] hacklab collective
   *[other] { $kind }
}
organisation-described = { $organisation } ({ $kind })
organisation-described-town = { $organisation } ({ $kind }, { $town })
instance-login = login required
instance-unconfirmed = not checked recently
instance-unconfirmed-hint = Nobody checked lately that this server still answers.
instance-check = Check
instance-check-named = Check whether { $name } answers
instance-checking = checking…
instance-up = answers in { $ms } ms
instance-up-users = answers in { $ms } ms · { $users } of { $max } users
instance-down = not answering
probe-query-not-built = The query could not be built.
probe-not-mumble = { $host } answered, but not like a Mumble server.
probe-no-answer = { $host } did not answer within { $seconds } seconds (it may be down, or not allow queries).
probe-tls-not-prepared = TLS could not be prepared: { $reason }.
probe-invalid-name = { $host } is not a valid server name.
probe-unreachable = { $host } could not be reached ({ $reason }).
probe-tls-not-started = TLS could not start: { $reason }.
probe-not-jitsi = { $host } answered, but has no Jitsi Meet configuration (HTTP { $code }).
probe-not-web = { $host } did not answer like a web server.
probe-name-not-found = The name { $host } could not be found ({ $reason }).
probe-no-address = The name { $host } has no address.
probe-untrusted-certificate = { $host } presented a certificate no recognised authority vouches for.
probe-tls-failed = The secure connection to { $host } failed ({ $reason }).

## Before joining

name-label = Your name
name-needed = Type the name the others will see.
password-label = Server password
password-hint = only if the server asks for one
audio-only-checkbox = Audio only
audio-only-hint = Sound only: others' cameras are not received, and yours stays off. Video costs about 25 times the data of sound.
audio-only-mumble = Mumble carries sound only: there is no video on this server.
audio-only-no-video = This build of palabre has no video: you will join with sound only.
camera-label = Camera
camera-first = First camera found
camera-test-pattern = Test picture (no camera)
camera-none-found = No camera found.
camera-on = Turn camera on
camera-off = Turn camera off
camera-audio-only = Turn audio only off to use the camera.
video-of = Camera of { $name }
join = Join
room-needed = Which room on { $host }? Type its name.
room-label = Room name
room-continue = Continue

## Call

stage-connecting = Connecting…
stage-connecting-step = Connecting: { $step }
stage-connected = Connected
stage-leaving = Leaving…
stage-reconnecting = Connection lost ({ $reason }). Reconnecting in { $seconds } s (attempt { $attempt }).
stage-ended = Ended: { $reason }
stage-ended-unexpectedly = Ended: the connection to the conference stopped unexpectedly.
call-ended-failed = The call ended because of a problem.
certificate-changed-question = Trust the new certificate only if the server's administrators confirm they changed it.
certificate-trust = Trust the new certificate and join
back-to-start = Back to the start
traffic = Sending { $up } kbit/s · receiving { $down } kbit/s · { $total } MB used
notice-heading = From the server
mute = Mute
unmute = Unmute
deafen = Deafen
raise-hand = Raise hand
lower-hand = Lower hand
undeafen = Undeafen
chat = Chat
chat-unread = Chat ({ $count })
leave = Leave
participants-heading = { $count ->
        [one] One participant
       *[other] { $count } participants
    }
rooms-hint = Double-click a room, or use its “Join” button, to go there.
room-join = Join
room-join-named = Join the room { $name }
room-double-click = Double-click to go to this room
participant-you = { $name } (you)
participant-muted = muted
participant-deafened = muted and deafened
participant-hand = hand raised
participant-speaking = { $name } is speaking
participant-write = Write
participant-write-named = Write privately to { $name }
participant-silent = { $name } is silent
chat-heading = Messages
chat-to-private = To { $name }, privately
chat-to-everyone = To everyone
chat-hint = Write a message to the room
chat-message-label = Message
chat-send = Send
chat-empty = No messages yet.
chat-from = { $name }:
chat-private = { $name } (privately):
chat-own = You:

## Settings screen

settings-open = Settings
settings-screen-heading = Settings
settings-devices-heading = Devices
settings-audio-heading = Sound
shortcuts-heading = Keyboard shortcuts
push-to-talk-key-label = Push-to-talk key
mute-key-label = Mute or unmute in a call
key-space = Space
shortcut-ctrl = Ctrl+{ $key }
shortcut-off = No shortcut
shortcut-hint = Shortcut: { $shortcut }
shortcuts-hint = The push-to-talk key is used when “Send my voice” is set to “While I hold a key”. Shortcuts work while palabre’s window is in front and you are not typing in a text field. On an X11 desktop, a push-to-talk function key (F1–F12) also works during a call while another window is in front.
appearance-heading = Language and appearance
theme-label = Colours
theme-system = Same as the system
theme-light = Light
theme-dark = Dark
text-size-label = Text size
text-size-percent = { $percent }%
text-size-hint = Everything in the window grows with the text.

## What the connection and the conference say (drivers and adapters, as phrases)

identity-failed = Your certificate could not be loaded or created ({ $reason }); joining without one.
connection-not-started = The connection could not be started: { $reason }.
mumble-connecting = Connecting to { $server }…
mumble-logging-in = Logging in to { $server } as { $name }…
mumble-connected = Connected.
mumble-left = You left the server.
mumble-voice-udp = Voice goes over UDP.
mumble-voice-tcp = Voice goes through the TCP connection (UDP does not get through).
mumble-bandwidth-limited = The server allows only { $cap } kbit/s per user: audio adjusted to { $bitrate } kbit/s in { $frame } ms packets.
mumble-channel-not-found = There is no channel { $channel } on this server; you stay where you are.
mumble-registered = Your name is now registered on this server.
mumble-codec-warning = The server asks for an older codec than Opus; palabre keeps Opus, so very old clients may not hear you.
mumble-reject-none = The server refused the connection.
mumble-reject-wrong-version = The server does not accept this version of palabre.
mumble-reject-invalid-username = The server does not accept this user name. Choose another one.
mumble-reject-wrong-user-password = This user name is registered on the server, and the certificate or password given for it is wrong.
mumble-reject-wrong-server-password = The server password is missing or wrong.
mumble-reject-username-in-use = Someone on the server already uses this user name. Choose another one.
mumble-reject-server-full = The server is full. Try again later.
mumble-reject-no-certificate = The server only accepts users who present a certificate.
mumble-reject-authenticator-failed = The server could not check the login: its authentication service failed. Try again later.
mumble-reject-no-new-connections = The server does not accept new connections at the moment. Try again later.
mumble-reject-unknown = The server refused the connection (reason code { $code }).
mumble-reject-server-said = { $why } The server said: { $reason }
mumble-server-full-count = The server is full ({ $users } of { $max } users). Try again later.
mumble-closed-during-login = The server closed the connection during the login ({ $detail }).
mumble-connection-lost = The connection to the server was lost ({ $detail }).
mumble-login-timeout = The server did not complete the login within 30 seconds.
mumble-stopped-answering = The server stopped answering (no reply to 4 pings in 20 seconds).
mumble-kicked = You were kicked from the server{ $by }{ $reason }.
mumble-banned = You were banned from the server{ $by }{ $reason }.
mumble-removed-by = { " " }by { $name }
mumble-removed-reason = : { $reason }
mumble-bad-voice-key = The server sent an unusable voice encryption key ({ $reason }).
mumble-no-session-number = The server completed the login without giving a session number.
mumble-protocol-error = The server sent data palabre cannot accept, so it disconnected: { $reason }.
mumble-name-not-found = The server name { $host } could not be found ({ $reason }).
mumble-name-lookup-timeout = Looking up the server name { $host } timed out.
mumble-unreachable = Could not reach { $server } ({ $reason }).
mumble-tls-not-prepared = The secure connection to { $server } could not be prepared: { $reason }.
mumble-tls-failed = The secure connection to { $server } failed ({ $reason }).
mumble-tls-timeout = The secure connection to { $server } timed out.
jitsi-not-encrypted = Warning: { $link } is not encrypted (http://): use it only for a local test server.
jitsi-looking-up = Looking up the settings of { $host }…
jitsi-connecting = Connecting to { $host }…
jitsi-asking-for-meeting = Connected; asking for the meeting…
jitsi-waiting-focus = The meeting is being prepared…
jitsi-waiting-host = Waiting for the host to start the meeting…
jitsi-waiting-lobby = This meeting has a lobby: waiting for a moderator to let you in…
jitsi-waiting-for-offer = In the meeting; waiting for the conference's media offer…
jitsi-unreadable-media-message = The conference sent a media message palabre cannot read: { $reason }
jitsi-connecting-audio = Connecting the audio…
jitsi-offer-refused = The media offer could not be accepted: { $reason }
jitsi-media-session-ended = The conference ended the media session ({ $reason }); waiting for a new one…
jitsi-audio-connected = Audio connected.
jitsi-audio-interrupted = The audio connection is interrupted…
jitsi-audio-back = The audio connection is back.
jitsi-audio-lost-restart = The audio connection is lost; asking the meeting for a new one…
jitsi-audio-lost-no-restart = The audio connection is lost, and this meeting cannot start a new one.
jitsi-bridge-fallback = The bridge channel did not open; trying the bridge's WebSocket…
jitsi-bridge-socket-open = The bridge channel is open (WebSocket).
jitsi-no-bridge-channel = This bridge offers no usable bridge channel: no speaker events.
jitsi-muted-by-moderator = A moderator muted your microphone.
jitsi-started-muted = The meeting starts newcomers muted: your microphone is off until you unmute it.
jitsi-left = You left the meeting.
jitsi-password-required = This meeting is protected by a password.
jitsi-password-wrong = The meeting password is wrong.
jitsi-name-required = This meeting asks for your name before you can knock: choose a display name.
jitsi-members-only = Only invited members may join this meeting.
jitsi-room-full = The meeting is full.
jitsi-login-required = This meeting needs a login: guests may not join it.
jitsi-lobby-refused = A moderator did not let you into the meeting.
jitsi-kicked = A moderator removed you from the meeting.
jitsi-room-destroyed = The meeting was ended for everyone.
jitsi-no-reason = no reason given
jitsi-reason-with-text = { $condition }: { $text }
jitsi-focus-refused = The meeting's focus refused the conference ({ $detail }).
jitsi-focus-no-answer = The meeting's focus ({ $focus }) did not answer: the Jitsi Meet server may be broken or overloaded.
jitsi-room-no-answer = The meeting room did not answer palabre's request to join.
jitsi-room-never-created = The meeting room was never created by the server's focus.
jitsi-name-conflict = Someone in the meeting already uses palabre's name on the server.
jitsi-meeting-refused = The meeting refused palabre ({ $detail }).
jitsi-lobby-not-entered = The meeting's lobby could not be entered.
jitsi-disconnected = Disconnected.
jitsi-server-closed = The server closed the connection.
jitsi-connection-lost-pings = The connection to the server was lost (no answer to pings).
jitsi-opening-timeout = The server did not complete the connection in time.
call-type-password = Type the password and join again
form-password-needed = This server or meeting asks for a password: type it below, then join.
form-password-wrong = The password was refused: type it again, then join.
quality-unknown = Connection: measuring…
quality-good = Connection: good
quality-fair = Connection: fair
quality-poor = Connection: poor
quality-rtt = { $ms } ms round trip
quality-loss = { $percent }% lost
quality-hint = The round trip is the time a packet takes to the server and back; lost is the share of the others' sound that did not arrive. Over 300 ms or 3% a conversation suffers; over 600 ms or 10% it becomes hard.

## Jitsi Meet: reading the instance's settings (config.js) failed
discovery-too-large = This server's Jitsi Meet configuration (config.js) is larger than 1 MiB, more than palabre reads.
discovery-not-java-script = This server's Jitsi Meet configuration (config.js) is not valid JavaScript: { $detail }.
discovery-script-failed = This server's Jitsi Meet configuration (config.js) stopped with an error: { $detail }.
discovery-too-slow = This server's Jitsi Meet configuration (config.js) took more than a second to run, so palabre stopped it.
discovery-too-much-memory = This server's Jitsi Meet configuration (config.js) needed more than 32 MiB of memory, so palabre stopped it.
discovery-too-deep = This server's Jitsi Meet configuration (config.js) nests too deeply, so palabre stopped it.
discovery-interpreter = palabre could not start its JavaScript interpreter ({ $detail }).
discovery-no-config = This server's config.js defines no Jitsi Meet configuration (no `config` object): it may not be a Jitsi Meet server.
discovery-missing = This server's Jitsi Meet configuration has no { $what } ({ $field }).
discovery-bad-value = This server's Jitsi Meet configuration has an unusable { $field }: { $reason }.
discovery-bosh-only = This server offers XMPP only over BOSH (its configuration has no WebSocket address), and palabre connects only over WebSocket.
discovery-downgrade = The room link is secure (https), but the server's configuration points to an unencrypted WebSocket address ({ $url }); palabre does not connect without encryption.
discovery-host-not-found = The server name { $host } could not be found: check the room link.
discovery-connect = palabre could not connect to { $host } ({ $detail }).
discovery-untrusted = { $host } presented a certificate that no trusted authority vouches for. For a private instance, give its authority's certificate with --ca-file.
discovery-bad-certificate = { $host } presented a certificate that cannot be accepted ({ $detail }).
discovery-tls = The secure connection to { $host } failed ({ $detail }).
discovery-not-found = { $host } has no Jitsi Meet configuration at { $url } (HTTP 404): it is not a Jitsi Meet server, or the room link is wrong.
discovery-http-status = { $host } answered HTTP { $status } instead of its Jitsi Meet configuration.
discovery-too-many-redirects = { $host } redirected palabre more than 5 times without giving its configuration.
discovery-insecure-redirect = { $host } redirected palabre from a secure (https) address to an unencrypted one ({ $url }); palabre does not follow it.
discovery-timeout = { $host } did not send its Jitsi Meet configuration within { $seconds } seconds.
discovery-not-utf8 = { $host } sent a Jitsi Meet configuration that is not UTF-8 text.
discovery-ca-file = The certificate file { $path } could not be used: { $detail }.
discovery-http = Fetching the Jitsi Meet configuration from { $host } failed ({ $detail }).
discovery-what-domain = XMPP domain
discovery-what-muc = conference room domain

## Jitsi Meet: connection and media failures
jitsi-lookup-stopped = The settings lookup stopped unexpectedly.
jitsi-no-udp = No UDP socket for the media: { $error }.
jitsi-no-answer = { $host } did not answer within 15 seconds.
jitsi-thread-stopped = The network thread stopped.
jitsi-bridge-socket-closed = The bridge's WebSocket closed; connecting it again…
jitsi-bridge-socket-no-answer = The bridge's WebSocket did not answer within 15 seconds.
jitsi-socket-no-host = The WebSocket address has no host.
jitsi-socket-unreachable = { $host } could not be reached ({ $error }).
jitsi-socket-bad-name = { $host } is not a valid server name.
jitsi-socket-tls-failed = The secure connection to { $host } failed: { $error }.
jitsi-socket-bad-address = The WebSocket address is not usable: { $error }.
jitsi-socket-bad-origin = { $host } is not a valid origin.
jitsi-socket-refused-xmpp = { $host } refused the XMPP WebSocket: { $error }.
jitsi-socket-refused-bridge = { $host } refused the bridge's WebSocket: { $error }.
media-no-audio = The conference offered no audio.
media-no-description = The conference's audio offer has no description.
media-no-opus = The conference does not offer the Opus codec, the only one palabre speaks.
media-no-transport = The conference's offer has no network transport.
media-no-ice-credentials = The conference's offer has no ICE credentials.
media-no-fingerprint = The conference's offer has no DTLS fingerprint.
media-bad-fingerprint = The conference's DTLS fingerprint is malformed.
media-dtls-not-started = DTLS could not start: { $error }.
media-failed = The media connection failed: { $error }.
media-closed = The bridge closed the media connection.
media-no-address = palabre has no network address to offer the conference's bridge.

## Mumble: requests the server refused
mumble-denied-permission = You are not allowed to do that in the channel.
mumble-denied-permission-in = You are not allowed to do that in the channel “{ $channel }”.
mumble-denied-full = The channel is full.
mumble-denied-full-in = The channel “{ $channel }” is full.
mumble-denied-too-long = The message is too long for this server.
mumble-denied-no-certificate = Registering needs a certificate, and none was presented.
mumble-denied-user-name = This user name cannot be registered.
mumble-denied-temporary = That cannot be done in a temporary channel.
mumble-denied-superuser = That cannot be done to the SuperUser.
mumble-denied-repeat = The server refused the message as a repeat.
mumble-denied-reason = The server refused: { $reason }
mumble-denied = The server refused the request.
mumble-text-not-connected = Not connected.
mumble-text-too-long = The message is too long for this server ({ $limit } characters allowed).

## Server certificates (Mumble)
trust-ca-verified = The certificate of { $server } is vouched for by a recognised authority.
trust-pinned = The certificate of { $server } is the one accepted on earlier connections.
trust-first-use = First connection to { $server }: its certificate ({ $fingerprint }) was accepted and will be checked on later connections.
trust-replaced = The certificate of { $server } had changed (was { $old }, now { $new }); the new one was accepted as you asked and will be checked on later connections.
trust-changed = The certificate of { $server } has changed since you last connected (was { $old }, now { $new }). This can mean someone is intercepting the connection. Connect with --accept-new-certificate only if the server's admin confirms the change.

## Video: the camera and the codec
camera-list-failed = The cameras could not be listed: { $error }.
camera-none = No camera was found on this computer.
camera-open-failed = The camera could not be opened: { $error }.
camera-start-failed = The camera would not start: { $error }.
camera-stopped = The camera stopped: { $error }.
camera-format-unreadable = The camera sends its pictures as { $format }, which palabre cannot read; try another camera.
video-not-built = This build of palabre has no video (it was built without the `video` feature).
codec-init = The VP8 codec could not start (libvpx error { $code }).
codec-decode = A VP8 frame could not be decoded (libvpx error { $code }).
codec-encode = A picture could not be encoded as VP8 (libvpx error { $code }).
codec-too-big = A video stream is { $width }×{ $height } pixels, more than palabre shows.

## Jitsi Meet: the XMPP connection
xmpp-unexpected-while-opening = The server sent <{ $element }/> while the connection was opening.
xmpp-no-binding = The server offered no resource binding after the login.
xmpp-unexpected-login-answer = The server answered the login with <{ $element }/>.
xmpp-binding-failed = The server did not give palabre an address (resource binding failed).
xmpp-stream-error-text = The server ended the connection: { $condition } ({ $text }).
xmpp-stream-error = The server ended the connection: { $condition }.
xmpp-no-guests = The server { $domain } does not let guests in (no anonymous login): this meeting needs an account.
xmpp-no-password-login = The server { $domain } does not accept a user name and password here.
xmpp-wrong-password = The server refused the login: wrong user name or password.
xmpp-guest-refused = The server { $domain } refused a guest login ({ $reason }).
xmpp-account-disabled = This account is disabled.
xmpp-login-refused = The server refused the login ({ $reason }).
jitsi-answer-refused = The conference server refused palabre's media description ({ $detail }).
jitsi-answer-unanswered = The conference server did not answer palabre's media description.
jitsi-answer-connection-ended = The connection ended.
codec-bad-picture = A picture of { $width }×{ $height } pixels cannot be encoded (odd, too small, too big or incomplete).
