//! The protobuf messages of Mumble's TCP control channel, written by hand for `prost`.
//!
//! Source of the facts: `src/Mumble.proto` of mumble-voip/mumble (package `MumbleProto`,
//! `syntax = "proto2"`), read at the 1.6 development line (commit `3616998b`), plus
//! `docs/mumble-protocol.md` §1.5. The Rust types here are our own; no code generator and no
//! `protoc` is involved (see `docs/crates.md` §4.4), so this file is the schema.
//!
//! Conventions, following proto2 as prost-build would render it:
//! - an `optional` field is an `Option<T>`, so "absent" and "zero" stay distinct (a `UserState`
//!   update carries only the fields that changed);
//! - a `required` field is a plain `T` (prost does not enforce presence; a missing one decodes as
//!   its default);
//! - repeated scalars are *not* packed (proto2's default), although decoding accepts both forms;
//! - enum fields hold the raw `i32`, so a value from a newer server survives; the typed getter
//!   prost derives (for example `Reject::r#type()`) maps unknown values to the default variant;
//! - nested messages and enums live in a module named after their parent, as prost-build does.
//!
//! The message type numbers of the TCP framing are in `super::control`. `PluginDataTransmission`
//! (type 26) is deliberately absent: palabre has no plugins, so it is skipped as unknown.
//!
//! Sans-IO: plain data, no I/O.

/// `MumbleProto.Version`: each side announces its version first thing after the TLS handshake.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Version {
    /// Legacy version, `major << 16 | minor << 8 | patch` (minor and patch clamped to 255).
    #[prost(uint32, optional, tag = "1")]
    pub version_v1: Option<u32>,
    /// Version since 1.5, `major << 48 | minor << 32 | patch << 16`; readers prefer it.
    #[prost(uint64, optional, tag = "5")]
    pub version_v2: Option<u64>,
    /// Free-form release name, for example "palabre 0.1.0".
    #[prost(string, optional, tag = "2")]
    pub release: Option<String>,
    /// Operating system name.
    #[prost(string, optional, tag = "3")]
    pub os: Option<String>,
    /// Operating system version.
    #[prost(string, optional, tag = "4")]
    pub os_version: Option<String>,
}

/// A Mumble version as three numbers, convertible to both wire encodings of [`Version`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionNumber {
    /// Major version.
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Patch version.
    pub patch: u16,
}

impl VersionNumber {
    /// The legacy 32-bit form; minor and patch are clamped to 255 as Mumble does.
    pub fn to_v1(self) -> u32 {
        (u32::from(self.major) << 16)
            | (u32::from(self.minor.min(255)) << 8)
            | u32::from(self.patch.min(255))
    }

    /// The 64-bit form used since 1.5.
    pub fn to_v2(self) -> u64 {
        (u64::from(self.major) << 48)
            | (u64::from(self.minor) << 32)
            | (u64::from(self.patch) << 16)
    }

    /// Reads the legacy 32-bit form.
    pub fn from_v1(v1: u32) -> Self {
        Self {
            major: (v1 >> 16) as u16,
            minor: ((v1 >> 8) & 0xff) as u16,
            patch: (v1 & 0xff) as u16,
        }
    }

    /// Reads the 64-bit form (the low 16 bits are unused).
    pub fn from_v2(v2: u64) -> Self {
        Self {
            major: (v2 >> 48) as u16,
            minor: ((v2 >> 32) & 0xffff) as u16,
            patch: ((v2 >> 16) & 0xffff) as u16,
        }
    }
}

impl Version {
    /// The announced version, preferring `version_v2` when present, as Mumble does.
    pub fn number(&self) -> Option<VersionNumber> {
        match (self.version_v2, self.version_v1) {
            (Some(v2), _) => Some(VersionNumber::from_v2(v2)),
            (None, Some(v1)) => Some(VersionNumber::from_v1(v1)),
            (None, None) => None,
        }
    }

    /// Sets both version fields, as senders since 1.5 do.
    pub fn set_number(&mut self, number: VersionNumber) {
        self.version_v1 = Some(number.to_v1());
        self.version_v2 = Some(number.to_v2());
    }
}

/// `MumbleProto.UDPTunnel`: unused on the wire. Tunnelled voice (TCP type 1) is carried as the
/// raw UDP packet, not as this message; it exists only to keep the schema complete.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UdpTunnel {
    /// The voice packet.
    #[prost(bytes = "vec", required, tag = "1")]
    pub packet: Vec<u8>,
}

/// `MumbleProto.Authenticate`: sent by the client right after its [`Version`].
#[derive(Clone, PartialEq, prost::Message)]
pub struct Authenticate {
    /// The user name to log in as.
    #[prost(string, optional, tag = "1")]
    pub username: Option<String>,
    /// The server password (unregistered names) or the user's password (registered ones).
    #[prost(string, optional, tag = "2")]
    pub password: Option<String>,
    /// Access tokens for ACL groups.
    #[prost(string, repeated, tag = "3")]
    pub tokens: Vec<String>,
    /// CELT bitstream versions the client can decode; palabre leaves it empty.
    #[prost(int32, repeated, packed = "false", tag = "4")]
    pub celt_versions: Vec<i32>,
    /// Whether the client speaks Opus; palabre always sets it.
    #[prost(bool, optional, tag = "5", default = "false")]
    pub opus: Option<bool>,
    /// 0 for a normal client, 1 for a bot (1.5 and later).
    #[prost(int32, optional, tag = "6", default = "0")]
    pub client_type: Option<i32>,
}

/// `MumbleProto.Ping`: the TCP keepalive; the server echoes `timestamp` back.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Ping {
    /// Opaque to the server, echoed back; the client uses it to measure round-trip time.
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    /// UDP packets decrypted correctly.
    #[prost(uint32, optional, tag = "2")]
    pub good: Option<u32>,
    /// UDP packets that arrived late (out of order).
    #[prost(uint32, optional, tag = "3")]
    pub late: Option<u32>,
    /// UDP packets never received.
    #[prost(uint32, optional, tag = "4")]
    pub lost: Option<u32>,
    /// Crypt nonce resynchronisations.
    #[prost(uint32, optional, tag = "5")]
    pub resync: Option<u32>,
    /// UDP pings received.
    #[prost(uint32, optional, tag = "6")]
    pub udp_packets: Option<u32>,
    /// TCP pings received.
    #[prost(uint32, optional, tag = "7")]
    pub tcp_packets: Option<u32>,
    /// Mean UDP ping, in milliseconds.
    #[prost(float, optional, tag = "8")]
    pub udp_ping_avg: Option<f32>,
    /// Variance of the UDP ping.
    #[prost(float, optional, tag = "9")]
    pub udp_ping_var: Option<f32>,
    /// Mean TCP ping, in milliseconds.
    #[prost(float, optional, tag = "10")]
    pub tcp_ping_avg: Option<f32>,
    /// Variance of the TCP ping.
    #[prost(float, optional, tag = "11")]
    pub tcp_ping_var: Option<f32>,
}

/// `MumbleProto.Reject`: the server refuses the connection, then closes it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Reject {
    /// Why, as a [`reject::RejectType`].
    #[prost(enumeration = "reject::RejectType", optional, tag = "1")]
    pub r#type: Option<i32>,
    /// The server's own explanation, in English.
    #[prost(string, optional, tag = "2")]
    pub reason: Option<String>,
}

/// Types nested in [`Reject`].
pub mod reject {
    /// `MumbleProto.Reject.RejectType`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum RejectType {
        /// No specific type; the reason text says why.
        None = 0,
        /// The client's version is refused (unused by current servers).
        WrongVersion = 1,
        /// The user name is not accepted by the server.
        InvalidUsername = 2,
        /// Wrong certificate or password for a registered user.
        WrongUserPw = 3,
        /// The server password is missing or wrong.
        WrongServerPw = 4,
        /// The user name is already in use.
        UsernameInUse = 5,
        /// The server is full.
        ServerFull = 6,
        /// The server requires a client certificate.
        NoCertificate = 7,
        /// The server's external authenticator failed.
        AuthenticatorFail = 8,
        /// The server is not accepting new connections (after 1.5.735).
        NoNewConnections = 9,
    }
}

/// `MumbleProto.ServerSync`: ends the login; from here on the client is connected.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerSync {
    /// The client's own session id.
    #[prost(uint32, optional, tag = "1")]
    pub session: Option<u32>,
    /// Maximum outgoing voice bandwidth per user, in bit/s.
    #[prost(uint32, optional, tag = "2")]
    pub max_bandwidth: Option<u32>,
    /// Welcome text (HTML).
    #[prost(string, optional, tag = "3")]
    pub welcome_text: Option<String>,
    /// The client's permissions in the root channel (a 64-bit field whose value fits 32 bits).
    #[prost(uint64, optional, tag = "4")]
    pub permissions: Option<u64>,
}

/// `MumbleProto.ChannelRemove`: a channel was deleted.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChannelRemove {
    /// The deleted channel.
    #[prost(uint32, required, tag = "1")]
    pub channel_id: u32,
}

/// `MumbleProto.ChannelState`: a channel's state, or a change to it (only set fields change).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChannelState {
    /// The channel id (absent when the client asks to create a channel).
    #[prost(uint32, optional, tag = "1")]
    pub channel_id: Option<u32>,
    /// The parent channel id (absent for the root).
    #[prost(uint32, optional, tag = "2")]
    pub parent: Option<u32>,
    /// The channel name.
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    /// The full list of linked channels.
    #[prost(uint32, repeated, packed = "false", tag = "4")]
    pub links: Vec<u32>,
    /// The description (HTML), when short; otherwise see `description_hash`.
    #[prost(string, optional, tag = "5")]
    pub description: Option<String>,
    /// Channels to link.
    #[prost(uint32, repeated, packed = "false", tag = "6")]
    pub links_add: Vec<u32>,
    /// Channels to unlink.
    #[prost(uint32, repeated, packed = "false", tag = "7")]
    pub links_remove: Vec<u32>,
    /// Whether the channel disappears when its last user leaves.
    #[prost(bool, optional, tag = "8", default = "false")]
    pub temporary: Option<bool>,
    /// Sort weight among siblings.
    #[prost(int32, optional, tag = "9", default = "0")]
    pub position: Option<i32>,
    /// SHA-1 of the description, sent instead of it when it is long (fetch with RequestBlob).
    #[prost(bytes = "vec", optional, tag = "10")]
    pub description_hash: Option<Vec<u8>>,
    /// Maximum number of users (0: no limit).
    #[prost(uint32, optional, tag = "11")]
    pub max_users: Option<u32>,
    /// Whether entering is restricted by ACL.
    #[prost(bool, optional, tag = "12")]
    pub is_enter_restricted: Option<bool>,
    /// Whether the receiving client may enter.
    #[prost(bool, optional, tag = "13")]
    pub can_enter: Option<bool>,
}

/// `MumbleProto.UserRemove`: a user left, was kicked or banned.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserRemove {
    /// The session that left.
    #[prost(uint32, required, tag = "1")]
    pub session: u32,
    /// The session that kicked or banned it.
    #[prost(uint32, optional, tag = "2")]
    pub actor: Option<u32>,
    /// The kick or ban reason.
    #[prost(string, optional, tag = "3")]
    pub reason: Option<String>,
    /// Whether this is a ban rather than a kick.
    #[prost(bool, optional, tag = "4")]
    pub ban: Option<bool>,
    /// Whether the ban covers the certificate.
    #[prost(bool, optional, tag = "5")]
    pub ban_certificate: Option<bool>,
    /// Whether the ban covers the IP address.
    #[prost(bool, optional, tag = "6")]
    pub ban_ip: Option<bool>,
}

/// `MumbleProto.UserState`: a user's state, or a change to it (only set fields change).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserState {
    /// The user's session id.
    #[prost(uint32, optional, tag = "1")]
    pub session: Option<u32>,
    /// The session that caused the change.
    #[prost(uint32, optional, tag = "2")]
    pub actor: Option<u32>,
    /// The user name.
    #[prost(string, optional, tag = "3")]
    pub name: Option<String>,
    /// Registered user id; a client sets 0 for its own session to self-register.
    #[prost(uint32, optional, tag = "4")]
    pub user_id: Option<u32>,
    /// The channel the user is in.
    #[prost(uint32, optional, tag = "5")]
    pub channel_id: Option<u32>,
    /// Muted by an administrator.
    #[prost(bool, optional, tag = "6")]
    pub mute: Option<bool>,
    /// Deafened by an administrator.
    #[prost(bool, optional, tag = "7")]
    pub deaf: Option<bool>,
    /// Suppressed by the server (no Speak permission).
    #[prost(bool, optional, tag = "8")]
    pub suppress: Option<bool>,
    /// Muted by the user.
    #[prost(bool, optional, tag = "9")]
    pub self_mute: Option<bool>,
    /// Deafened by the user.
    #[prost(bool, optional, tag = "10")]
    pub self_deaf: Option<bool>,
    /// Avatar image, when small; otherwise see `texture_hash`.
    #[prost(bytes = "vec", optional, tag = "11")]
    pub texture: Option<Vec<u8>>,
    /// Positional-audio plugin context (client to server only).
    #[prost(bytes = "vec", optional, tag = "12")]
    pub plugin_context: Option<Vec<u8>>,
    /// Positional-audio plugin identity (client to server only).
    #[prost(string, optional, tag = "13")]
    pub plugin_identity: Option<String>,
    /// The user's comment (HTML), when short; otherwise see `comment_hash`.
    #[prost(string, optional, tag = "14")]
    pub comment: Option<String>,
    /// Hex SHA-1 of the user's certificate.
    #[prost(string, optional, tag = "15")]
    pub hash: Option<String>,
    /// SHA-1 of the comment (fetch it with RequestBlob).
    #[prost(bytes = "vec", optional, tag = "16")]
    pub comment_hash: Option<Vec<u8>>,
    /// SHA-1 of the avatar (fetch it with RequestBlob).
    #[prost(bytes = "vec", optional, tag = "17")]
    pub texture_hash: Option<Vec<u8>>,
    /// Whether the user is a priority speaker.
    #[prost(bool, optional, tag = "18")]
    pub priority_speaker: Option<bool>,
    /// Whether the user is recording.
    #[prost(bool, optional, tag = "19")]
    pub recording: Option<bool>,
    /// Temporary access tokens.
    #[prost(string, repeated, tag = "20")]
    pub temporary_access_tokens: Vec<String>,
    /// Channels to start listening to.
    #[prost(uint32, repeated, packed = "false", tag = "21")]
    pub listening_channel_add: Vec<u32>,
    /// Channels to stop listening to.
    #[prost(uint32, repeated, packed = "false", tag = "22")]
    pub listening_channel_remove: Vec<u32>,
    /// Volume adjustments of listened channels.
    #[prost(message, repeated, tag = "23")]
    pub listening_volume_adjustment: Vec<user_state::VolumeAdjustment>,
}

/// Types nested in [`UserState`].
pub mod user_state {
    /// `MumbleProto.UserState.VolumeAdjustment`: the volume of one listened channel.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct VolumeAdjustment {
        /// The listened channel.
        #[prost(uint32, optional, tag = "1")]
        pub listening_channel: Option<u32>,
        /// The volume factor.
        #[prost(float, optional, tag = "2")]
        pub volume_adjustment: Option<f32>,
    }
}

/// `MumbleProto.BanList`: the server's ban list (administrators only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct BanList {
    /// The bans.
    #[prost(message, repeated, tag = "1")]
    pub bans: Vec<ban_list::BanEntry>,
    /// True in a request for the list.
    #[prost(bool, optional, tag = "2", default = "false")]
    pub query: Option<bool>,
}

/// Types nested in [`BanList`].
pub mod ban_list {
    /// `MumbleProto.BanList.BanEntry`: one ban.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BanEntry {
        /// Banned address, 16 bytes (IPv4 as IPv4-mapped IPv6).
        #[prost(bytes = "vec", required, tag = "1")]
        pub address: Vec<u8>,
        /// Prefix length of the banned range.
        #[prost(uint32, required, tag = "2")]
        pub mask: u32,
        /// Banned user name.
        #[prost(string, optional, tag = "3")]
        pub name: Option<String>,
        /// Banned certificate hash.
        #[prost(string, optional, tag = "4")]
        pub hash: Option<String>,
        /// Ban reason.
        #[prost(string, optional, tag = "5")]
        pub reason: Option<String>,
        /// Start time, ISO 8601.
        #[prost(string, optional, tag = "6")]
        pub start: Option<String>,
        /// Duration in seconds (0: forever).
        #[prost(uint32, optional, tag = "7")]
        pub duration: Option<u32>,
    }
}

/// `MumbleProto.TextMessage`: a chat message to users, channels or channel trees.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TextMessage {
    /// The sender's session (filled in by the server).
    #[prost(uint32, optional, tag = "1")]
    pub actor: Option<u32>,
    /// Target sessions (private message).
    #[prost(uint32, repeated, packed = "false", tag = "2")]
    pub session: Vec<u32>,
    /// Target channels.
    #[prost(uint32, repeated, packed = "false", tag = "3")]
    pub channel_id: Vec<u32>,
    /// Target channels, including their subchannels.
    #[prost(uint32, repeated, packed = "false", tag = "4")]
    pub tree_id: Vec<u32>,
    /// The message (HTML when the server allows it).
    #[prost(string, required, tag = "5")]
    pub message: String,
}

/// `MumbleProto.PermissionDenied`: a request of the client was refused.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PermissionDenied {
    /// The missing permission bit (for `DenyType::Permission`).
    #[prost(uint32, optional, tag = "1")]
    pub permission: Option<u32>,
    /// The channel concerned.
    #[prost(uint32, optional, tag = "2")]
    pub channel_id: Option<u32>,
    /// The session concerned.
    #[prost(uint32, optional, tag = "3")]
    pub session: Option<u32>,
    /// Free-text reason (for `DenyType::Text`).
    #[prost(string, optional, tag = "4")]
    pub reason: Option<String>,
    /// Why, as a [`permission_denied::DenyType`].
    #[prost(enumeration = "permission_denied::DenyType", optional, tag = "5")]
    pub r#type: Option<i32>,
    /// The refused channel or user name.
    #[prost(string, optional, tag = "6")]
    pub name: Option<String>,
}

/// Types nested in [`PermissionDenied`].
pub mod permission_denied {
    /// `MumbleProto.PermissionDenied.DenyType`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum DenyType {
        /// See the reason text.
        Text = 0,
        /// A permission is missing.
        Permission = 1,
        /// Not allowed on the SuperUser.
        SuperUser = 2,
        /// Invalid channel name.
        ChannelName = 3,
        /// Text message too long.
        TextTooLong = 4,
        /// The server's easter egg refusal.
        H9k = 5,
        /// Not allowed in a temporary channel.
        TemporaryChannel = 6,
        /// A client certificate is needed.
        MissingCertificate = 7,
        /// Invalid user name.
        UserName = 8,
        /// The channel is full.
        ChannelFull = 9,
        /// Channels nested too deep.
        NestingLimit = 10,
        /// Too many channels.
        ChannelCountLimit = 11,
        /// Too many listeners in the channel.
        ChannelListenerLimit = 12,
        /// The user listens to too many channels.
        UserListenerLimit = 13,
    }
}

/// `MumbleProto.ACL`: a channel's groups and access control list (editing UI only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Acl {
    /// The channel.
    #[prost(uint32, required, tag = "1")]
    pub channel_id: u32,
    /// Whether the channel inherits its parent's ACL.
    #[prost(bool, optional, tag = "2", default = "true")]
    pub inherit_acls: Option<bool>,
    /// The channel's groups.
    #[prost(message, repeated, tag = "3")]
    pub groups: Vec<acl::ChanGroup>,
    /// The channel's ACL entries.
    #[prost(message, repeated, tag = "4")]
    pub acls: Vec<acl::ChanAcl>,
    /// True in a request for the ACL.
    #[prost(bool, optional, tag = "5", default = "false")]
    pub query: Option<bool>,
}

/// Types nested in [`Acl`].
pub mod acl {
    /// `MumbleProto.ACL.ChanGroup`: a group defined on a channel.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ChanGroup {
        /// Group name.
        #[prost(string, required, tag = "1")]
        pub name: String,
        /// Whether the group is inherited from a parent.
        #[prost(bool, optional, tag = "2", default = "true")]
        pub inherited: Option<bool>,
        /// Whether the group inherits members from the parent's group.
        #[prost(bool, optional, tag = "3", default = "true")]
        pub inherit: Option<bool>,
        /// Whether subchannels may inherit the group.
        #[prost(bool, optional, tag = "4", default = "true")]
        pub inheritable: Option<bool>,
        /// Registered user ids added.
        #[prost(uint32, repeated, packed = "false", tag = "5")]
        pub add: Vec<u32>,
        /// Registered user ids removed.
        #[prost(uint32, repeated, packed = "false", tag = "6")]
        pub remove: Vec<u32>,
        /// Members inherited from the parent.
        #[prost(uint32, repeated, packed = "false", tag = "7")]
        pub inherited_members: Vec<u32>,
    }

    /// `MumbleProto.ACL.ChanACL`: one ACL entry.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ChanAcl {
        /// Applies to this channel.
        #[prost(bool, optional, tag = "1", default = "true")]
        pub apply_here: Option<bool>,
        /// Applies to subchannels.
        #[prost(bool, optional, tag = "2", default = "true")]
        pub apply_subs: Option<bool>,
        /// Inherited from a parent.
        #[prost(bool, optional, tag = "3", default = "true")]
        pub inherited: Option<bool>,
        /// The registered user it applies to.
        #[prost(uint32, optional, tag = "4")]
        pub user_id: Option<u32>,
        /// The group it applies to.
        #[prost(string, optional, tag = "5")]
        pub group: Option<String>,
        /// Granted permission bits.
        #[prost(uint32, optional, tag = "6")]
        pub grant: Option<u32>,
        /// Denied permission bits.
        #[prost(uint32, optional, tag = "7")]
        pub deny: Option<u32>,
    }
}

/// `MumbleProto.QueryUsers`: resolve registered user ids to names or back.
#[derive(Clone, PartialEq, prost::Message)]
pub struct QueryUsers {
    /// User ids.
    #[prost(uint32, repeated, packed = "false", tag = "1")]
    pub ids: Vec<u32>,
    /// User names.
    #[prost(string, repeated, tag = "2")]
    pub names: Vec<String>,
}

/// `MumbleProto.CryptSetup`: the UDP voice key and nonces, or a nonce resynchronisation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CryptSetup {
    /// AES-128 key (16 bytes).
    #[prost(bytes = "vec", optional, tag = "1")]
    pub key: Option<Vec<u8>>,
    /// The client's encrypt nonce (16 bytes).
    #[prost(bytes = "vec", optional, tag = "2")]
    pub client_nonce: Option<Vec<u8>>,
    /// The server's encrypt nonce (16 bytes).
    #[prost(bytes = "vec", optional, tag = "3")]
    pub server_nonce: Option<Vec<u8>>,
}

/// `MumbleProto.ContextActionModify`: the server adds or removes a context-menu entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContextActionModify {
    /// Action identifier.
    #[prost(string, required, tag = "1")]
    pub action: String,
    /// Menu label.
    #[prost(string, optional, tag = "2")]
    pub text: Option<String>,
    /// Where it appears, a bitmask of [`context_action_modify::Context`].
    #[prost(uint32, optional, tag = "3")]
    pub context: Option<u32>,
    /// Add or remove, as a [`context_action_modify::Operation`].
    #[prost(enumeration = "context_action_modify::Operation", optional, tag = "4")]
    pub operation: Option<i32>,
}

/// Types nested in [`ContextActionModify`].
pub mod context_action_modify {
    /// `MumbleProto.ContextActionModify.Context`: bits of the `context` mask.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Context {
        /// The server menu.
        Server = 1,
        /// A channel's menu.
        Channel = 2,
        /// A user's menu.
        User = 4,
    }

    /// `MumbleProto.ContextActionModify.Operation`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Operation {
        /// Add the entry.
        Add = 0,
        /// Remove the entry.
        Remove = 1,
    }
}

/// `MumbleProto.ContextAction`: the user chose a context-menu entry.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ContextAction {
    /// The user it was chosen on.
    #[prost(uint32, optional, tag = "1")]
    pub session: Option<u32>,
    /// The channel it was chosen on.
    #[prost(uint32, optional, tag = "2")]
    pub channel_id: Option<u32>,
    /// Action identifier.
    #[prost(string, required, tag = "3")]
    pub action: String,
}

/// `MumbleProto.UserList`: the registered users (administrators only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserList {
    /// The users.
    #[prost(message, repeated, tag = "1")]
    pub users: Vec<user_list::User>,
}

/// Types nested in [`UserList`].
pub mod user_list {
    /// `MumbleProto.UserList.User`: one registered user.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct User {
        /// Registered user id.
        #[prost(uint32, required, tag = "1")]
        pub user_id: u32,
        /// User name (absent to delete the registration).
        #[prost(string, optional, tag = "2")]
        pub name: Option<String>,
        /// Last seen, ISO 8601.
        #[prost(string, optional, tag = "3")]
        pub last_seen: Option<String>,
        /// Last channel.
        #[prost(uint32, optional, tag = "4")]
        pub last_channel: Option<u32>,
    }
}

/// `MumbleProto.VoiceTarget`: defines a whisper or shout target id (1..=30).
#[derive(Clone, PartialEq, prost::Message)]
pub struct VoiceTarget {
    /// The target id put in voice packets.
    #[prost(uint32, optional, tag = "1")]
    pub id: Option<u32>,
    /// Who receives voice sent to this id.
    #[prost(message, repeated, tag = "2")]
    pub targets: Vec<voice_target::Target>,
}

/// Types nested in [`VoiceTarget`].
pub mod voice_target {
    /// `MumbleProto.VoiceTarget.Target`: some sessions, or a channel.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Target {
        /// Sessions.
        #[prost(uint32, repeated, packed = "false", tag = "1")]
        pub session: Vec<u32>,
        /// A channel.
        #[prost(uint32, optional, tag = "2")]
        pub channel_id: Option<u32>,
        /// Only members of this ACL group in the channel.
        #[prost(string, optional, tag = "3")]
        pub group: Option<String>,
        /// Also the channels linked to it.
        #[prost(bool, optional, tag = "4", default = "false")]
        pub links: Option<bool>,
        /// Also its subchannels.
        #[prost(bool, optional, tag = "5", default = "false")]
        pub children: Option<bool>,
    }
}

/// `MumbleProto.PermissionQuery`: the client's permissions in a channel.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PermissionQuery {
    /// The channel.
    #[prost(uint32, optional, tag = "1")]
    pub channel_id: Option<u32>,
    /// Permission bitmask.
    #[prost(uint32, optional, tag = "2")]
    pub permissions: Option<u32>,
    /// Forget all cached permissions first.
    #[prost(bool, optional, tag = "3", default = "false")]
    pub flush: Option<bool>,
}

/// `MumbleProto.CodecVersion`: which codec the server wants clients to use.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CodecVersion {
    /// CELT alpha bitstream version (the server sends `0x8000000b` as a negative int32).
    #[prost(int32, required, tag = "1")]
    pub alpha: i32,
    /// CELT beta bitstream version.
    #[prost(int32, required, tag = "2")]
    pub beta: i32,
    /// Whether alpha is preferred over beta.
    #[prost(bool, required, tag = "3", default = "true")]
    pub prefer_alpha: bool,
    /// Whether clients should use Opus.
    #[prost(bool, optional, tag = "4", default = "false")]
    pub opus: Option<bool>,
}

/// `MumbleProto.UserStats`: statistics about one user (request with `session` set).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserStats {
    /// The user.
    #[prost(uint32, optional, tag = "1")]
    pub session: Option<u32>,
    /// Only the statistics, not the certificates and version.
    #[prost(bool, optional, tag = "2", default = "false")]
    pub stats_only: Option<bool>,
    /// The user's certificate chain, DER.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub certificates: Vec<Vec<u8>>,
    /// UDP packets from the client, as counted by the server.
    #[prost(message, optional, tag = "4")]
    pub from_client: Option<user_stats::Stats>,
    /// UDP packets from the server, as counted by the client.
    #[prost(message, optional, tag = "5")]
    pub from_server: Option<user_stats::Stats>,
    /// UDP pings received.
    #[prost(uint32, optional, tag = "6")]
    pub udp_packets: Option<u32>,
    /// TCP pings received.
    #[prost(uint32, optional, tag = "7")]
    pub tcp_packets: Option<u32>,
    /// Mean UDP ping, in milliseconds.
    #[prost(float, optional, tag = "8")]
    pub udp_ping_avg: Option<f32>,
    /// Variance of the UDP ping.
    #[prost(float, optional, tag = "9")]
    pub udp_ping_var: Option<f32>,
    /// Mean TCP ping, in milliseconds.
    #[prost(float, optional, tag = "10")]
    pub tcp_ping_avg: Option<f32>,
    /// Variance of the TCP ping.
    #[prost(float, optional, tag = "11")]
    pub tcp_ping_var: Option<f32>,
    /// The user's client version.
    #[prost(message, optional, tag = "12")]
    pub version: Option<Version>,
    /// CELT versions the user's client supports.
    #[prost(int32, repeated, packed = "false", tag = "13")]
    pub celt_versions: Vec<i32>,
    /// The user's IP address, 16 bytes.
    #[prost(bytes = "vec", optional, tag = "14")]
    pub address: Option<Vec<u8>>,
    /// The user's voice bandwidth, in bit/s.
    #[prost(uint32, optional, tag = "15")]
    pub bandwidth: Option<u32>,
    /// Seconds since the user connected.
    #[prost(uint32, optional, tag = "16")]
    pub onlinesecs: Option<u32>,
    /// Seconds since the user last spoke.
    #[prost(uint32, optional, tag = "17")]
    pub idlesecs: Option<u32>,
    /// Whether the user's certificate is CA-verified.
    #[prost(bool, optional, tag = "18", default = "false")]
    pub strong_certificate: Option<bool>,
    /// Whether the user's client supports Opus.
    #[prost(bool, optional, tag = "19", default = "false")]
    pub opus: Option<bool>,
    /// Statistics over a recent window.
    #[prost(message, optional, tag = "20")]
    pub rolling_stats: Option<user_stats::RollingStats>,
}

/// Types nested in [`UserStats`].
pub mod user_stats {
    /// `MumbleProto.UserStats.Stats`: UDP packet counters.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Stats {
        /// Packets decrypted correctly.
        #[prost(uint32, optional, tag = "1")]
        pub good: Option<u32>,
        /// Packets that arrived late.
        #[prost(uint32, optional, tag = "2")]
        pub late: Option<u32>,
        /// Packets lost.
        #[prost(uint32, optional, tag = "3")]
        pub lost: Option<u32>,
        /// Nonce resynchronisations.
        #[prost(uint32, optional, tag = "4")]
        pub resync: Option<u32>,
    }

    /// `MumbleProto.UserStats.RollingStats`: counters over a recent window.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RollingStats {
        /// Window length, in seconds.
        #[prost(uint32, optional, tag = "1")]
        pub time_window: Option<u32>,
        /// From the client, as counted by the server.
        #[prost(message, optional, tag = "2")]
        pub from_client: Option<Stats>,
        /// From the server, as counted by the client.
        #[prost(message, optional, tag = "3")]
        pub from_server: Option<Stats>,
    }
}

/// `MumbleProto.RequestBlob`: ask for long comments, avatars and descriptions sent as hashes.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RequestBlob {
    /// Sessions whose avatar is wanted.
    #[prost(uint32, repeated, packed = "false", tag = "1")]
    pub session_texture: Vec<u32>,
    /// Sessions whose comment is wanted.
    #[prost(uint32, repeated, packed = "false", tag = "2")]
    pub session_comment: Vec<u32>,
    /// Channels whose description is wanted.
    #[prost(uint32, repeated, packed = "false", tag = "3")]
    pub channel_description: Vec<u32>,
}

/// `MumbleProto.ServerConfig`: server limits, sent after ServerSync.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ServerConfig {
    /// Maximum voice bandwidth per user, in bit/s (usually sent in ServerSync instead).
    #[prost(uint32, optional, tag = "1")]
    pub max_bandwidth: Option<u32>,
    /// Welcome text (HTML).
    #[prost(string, optional, tag = "2")]
    pub welcome_text: Option<String>,
    /// Whether text messages may contain HTML.
    #[prost(bool, optional, tag = "3")]
    pub allow_html: Option<bool>,
    /// Maximum length of a text message without images.
    #[prost(uint32, optional, tag = "4")]
    pub message_length: Option<u32>,
    /// Maximum length of a text message with images.
    #[prost(uint32, optional, tag = "5")]
    pub image_message_length: Option<u32>,
    /// Maximum number of users on the server.
    #[prost(uint32, optional, tag = "6")]
    pub max_users: Option<u32>,
    /// Whether recording is allowed.
    #[prost(bool, optional, tag = "7")]
    pub recording_allowed: Option<bool>,
}

/// `MumbleProto.SuggestConfig`: settings the server suggests to its clients.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SuggestConfig {
    /// Suggested minimum client version, legacy form.
    #[prost(uint32, optional, tag = "1")]
    pub version_v1: Option<u32>,
    /// Suggested minimum client version, 1.5 form.
    #[prost(uint64, optional, tag = "4")]
    pub version_v2: Option<u64>,
    /// Whether positional audio should be on.
    #[prost(bool, optional, tag = "2")]
    pub positional: Option<bool>,
    /// Whether push-to-talk should be on.
    #[prost(bool, optional, tag = "3")]
    pub push_to_talk: Option<bool>,
}
