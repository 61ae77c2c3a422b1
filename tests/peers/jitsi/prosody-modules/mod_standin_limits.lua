-- Part of palabre's Jitsi stand-in (tests/peers/jitsi). Loaded on the MUC component: the room
-- limits a Jitsi deployment's Prosody modules put on joins.
--
-- A join refused because the room is members-only gets, besides <registration-required/>, the
-- Jitsi <lobbyroom xmlns='http://jitsi.org/jitmeet'>ROOM@LOBBY-MUC</lobbyroom> child that Jitsi's
-- lobby module adds, so a client can tell a lobby from a plain members-only room. The lobby MUC
-- itself is a plain component (option lobby_muc); no approval flow is implemented.
local st = require "util.stanza";
local jid_split = require "util.jid".split;

local lobby_muc = module:get_option_string("lobby_muc", "lobby." .. module.host);
local ranks = { outcast = -1, none = 0, member = 1, admin = 2, owner = 3 };

module:hook("muc-occupant-pre-join", function(event)
	local room, stanza = event.room, event.stanza;
	if not room._data.members_only then
		return;
	end
	local affiliation = room:get_affiliation(stanza.attr.from) or "none";
	if (ranks[affiliation] or 0) > ranks.none then
		return;
	end
	local node = jid_split(room.jid);
	local reply = st.error_reply(stanza, "auth", "registration-required", nil, room.jid);
	reply:tag("lobbyroom", { xmlns = "http://jitsi.org/jitmeet" }):text(node .. "@" .. lobby_muc):up();
	event.origin.send(reply);
	return true;
end, 10);

-- Like Jitsi's use of mod_muc_max_occupants (Prosody 0.12 itself has no occupant limit): with
-- muc_max_occupants = N, a join into a room that already has N occupants (not counting the focus
-- and the camera bot) gets <service-unavailable/>.
local max_occupants = module:get_option_number("muc_max_occupants", 0);
local uncounted = module:get_option_set("muc_uncounted_nicks", { "focus", "camerabot" });

module:hook("muc-occupant-pre-join", function(event)
	if max_occupants <= 0 then
		return;
	end
	local room, stanza = event.room, event.stanza;
	local _, _, nick = jid_split(stanza.attr.to);
	if uncounted:contains(nick) then
		return;
	end
	local count = 0;
	for occupant_jid in room:each_occupant() do
		local _, _, occupant_nick = jid_split(occupant_jid);
		if not uncounted:contains(occupant_nick) then
			count = count + 1;
		end
	end
	if count >= max_occupants then
		local reply = st.error_reply(stanza, "cancel", "service-unavailable",
			"The room has reached its maximum number of occupants.", room.jid);
		event.origin.send(reply);
		return true;
	end
end, 9);
