//! The instance directory shown in the picker: the hosts shipped in `assets/instances.toml`,
//! searched and filtered. Data only: availability is checked elsewhere, and only when the user
//! asks (palabre makes no connection to a host the user did not choose).

use serde::{Deserialize, Serialize};

/// The directory shipped with palabre.
const BUILTIN: &str = include_str!("../assets/instances.toml");

/// Which protocol an instance speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Jitsi Meet (rooms in a browser-style link).
    Jitsi,
    /// Mumble (a server with channels).
    Mumble,
}

/// One host of the directory.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Instance {
    /// Short name.
    pub name: String,
    /// Host name (with `:port` for a Mumble server on another port).
    pub host: String,
    /// Who runs it.
    pub organisation: String,
    /// What the organisation is.
    pub kind: OrganisationKind,
    /// Where it is, when it is local.
    #[serde(default)]
    pub town: Option<String>,
    /// ISO 3166 country code.
    pub country: String,
    /// Jitsi Meet or Mumble.
    pub protocol: Protocol,
    /// The host asks for an account.
    pub login: bool,
    /// Someone checked that the service answers (when the file was written).
    pub confirmed: bool,
}

/// What an organisation of the directory is, put into words by the window (the
/// `organisation-kind` message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrganisationKind {
    /// A non-profit association.
    Association,
    /// An Internet service provider run as an association.
    AssociativeIsp,
    /// A cooperative.
    Cooperative,
    /// A national research and education network.
    ResearchNetwork,
    /// An association for free software.
    FreeSoftwareAssociation,
    /// A community network.
    CommunityNetwork,
    /// The instance run by Jitsi's own developers.
    OfficialInstance,
    /// A hacklab or collective.
    HacklabCollective,
}

impl OrganisationKind {
    /// Every kind, for tests.
    pub const ALL: [Self; 8] = [
        Self::Association,
        Self::AssociativeIsp,
        Self::Cooperative,
        Self::ResearchNetwork,
        Self::FreeSoftwareAssociation,
        Self::CommunityNetwork,
        Self::OfficialInstance,
        Self::HacklabCollective,
    ];

    /// The selector of the `organisation-kind` message.
    pub fn key(self) -> &'static str {
        match self {
            Self::Association => "association",
            Self::AssociativeIsp => "associative-isp",
            Self::Cooperative => "cooperative",
            Self::ResearchNetwork => "research-network",
            Self::FreeSoftwareAssociation => "free-software-association",
            Self::CommunityNetwork => "community-network",
            Self::OfficialInstance => "official-instance",
            Self::HacklabCollective => "hacklab-collective",
        }
    }
}

impl Instance {
    /// The link that opens this instance: `https://host/` for Jitsi (a room name is added
    /// before joining), `mumble://host` for Mumble.
    pub fn link(&self) -> String {
        match self.protocol {
            Protocol::Jitsi => format!("https://{}/", self.host),
            Protocol::Mumble => format!("mumble://{}", self.host),
        }
    }

    /// Whether every word of `query` appears (ignoring case) in the name, host, organisation,
    /// town, country, or `kind_words` (what the organisation is, in the window's language).
    pub fn matches(&self, query: &str, kind_words: &str) -> bool {
        let haystack = format!(
            "{} {} {} {} {} {kind_words}",
            self.name,
            self.host,
            self.organisation,
            self.town.as_deref().unwrap_or_default(),
            self.country
        )
        .to_lowercase();
        query
            .split_whitespace()
            .all(|word| haystack.contains(&word.to_lowercase()))
    }
}

/// A server the user added to the picker ("add your own"), kept in the settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnServer {
    /// The name the user gave it (the host when they gave none).
    #[serde(default)]
    pub name: String,
    /// Jitsi Meet or Mumble.
    pub protocol: Protocol,
    /// Host name, with `:port` when it is not the protocol's usual one.
    pub host: String,
}

/// Reads the settings' list of the user's servers, skipping each entry this build cannot read
/// (a protocol of a newer palabre, a field missing) rather than failing the whole settings file.
pub fn lenient_own_servers<'de, D>(deserializer: D) -> Result<Vec<OwnServer>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    let value = toml::Value::deserialize(deserializer)?;
    let toml::Value::Array(items) = value else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|item| item.try_into::<OwnServer>().ok())
        .collect())
}

/// Why a server could not be added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OwnServerError {
    /// No address was given.
    NoAddress,
    /// The address is not a host name (with an optional port) or a link to one.
    NotAnAddress(String),
    /// That server is already in the list.
    AlreadyThere(String),
    /// The list holds [`MAX_OWN_SERVERS`] already.
    Full,
}

/// How many servers the user may add (the list is shown in full on the start screen).
pub const MAX_OWN_SERVERS: usize = 50;

/// The longest name kept for a server, in characters.
const MAX_OWN_NAME: usize = 80;

impl OwnServer {
    /// A server from what the user typed: `name` (may be empty) and `address`, a host name with
    /// an optional port, or any link to the server (its scheme then says the protocol, and the
    /// room or channel in it is dropped: the server is what is kept). `protocol` is used when
    /// the address does not say.
    pub fn new(name: &str, protocol: Protocol, address: &str) -> Result<Self, OwnServerError> {
        let address = address.trim();
        if address.is_empty() {
            return Err(OwnServerError::NoAddress);
        }
        let not_an_address = || OwnServerError::NotAnAddress(address.to_owned());
        let (protocol, rest) = match address.split_once("://") {
            Some((scheme, rest)) => match scheme.to_ascii_lowercase().as_str() {
                "mumble" => (Protocol::Mumble, rest),
                "https" | "http" | "jitsi-meet" => (Protocol::Jitsi, rest),
                _ => return Err(not_an_address()),
            },
            None => (protocol, address),
        };
        let server = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // A user name or password in a Mumble link is the user's, not the server's.
        let host = server
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        let host = match protocol {
            Protocol::Mumble => host
                .strip_suffix(":64738")
                .map_or(host.clone(), str::to_owned),
            Protocol::Jitsi => host
                .strip_suffix(":443")
                .map_or(host.clone(), str::to_owned),
        };
        let server = OwnServer {
            name: String::new(),
            protocol,
            host,
        };
        if server.host.is_empty() || server.host.contains(char::is_whitespace) {
            return Err(not_an_address());
        }
        // The server's link (with a room for Jitsi Meet) must be one palabre understands.
        let link = match protocol {
            Protocol::Jitsi => format!("{}room", server.link()),
            Protocol::Mumble => server.link(),
        };
        if crate::link::parse(&link).is_err() {
            return Err(not_an_address());
        }
        let name: String = name.trim().chars().take(MAX_OWN_NAME).collect();
        Ok(OwnServer {
            name: if name.is_empty() {
                server.host.clone()
            } else {
                name
            },
            ..server
        })
    }

    /// The link that opens it, as for a directory instance.
    pub fn link(&self) -> String {
        match self.protocol {
            Protocol::Jitsi => format!("https://{}/", self.host),
            Protocol::Mumble => format!("mumble://{}", self.host),
        }
    }

    /// Adds `server` to `list` unless it is already there (same protocol and host) or the list
    /// is full.
    pub fn add_to(self, list: &mut Vec<OwnServer>) -> Result<(), OwnServerError> {
        if list
            .iter()
            .any(|s| s.protocol == self.protocol && s.host == self.host)
        {
            return Err(OwnServerError::AlreadyThere(self.host));
        }
        if list.len() >= MAX_OWN_SERVERS {
            return Err(OwnServerError::Full);
        }
        list.push(self);
        Ok(())
    }
}

#[derive(Deserialize)]
struct File {
    instance: Vec<Instance>,
}

/// The directory shipped with palabre (a test guarantees it parses).
pub fn builtin() -> Vec<Instance> {
    match toml::from_str::<File>(BUILTIN) {
        Ok(file) => file.instance,
        Err(error) => {
            tracing::error!(%error, "the built-in instance directory does not parse");
            Vec::new()
        }
    }
}

/// What the picker shows: the instances matching `query` and `protocol` (`None`: both), in
/// directory order. `kind_words` puts an organisation's kind into the window's words, so a
/// search finds it in either language.
pub fn search<'a>(
    instances: &'a [Instance],
    query: &str,
    protocol: Option<Protocol>,
    kind_words: impl Fn(OrganisationKind) -> String,
) -> Vec<&'a Instance> {
    instances
        .iter()
        .filter(|instance| protocol.is_none_or(|p| instance.protocol == p))
        .filter(|instance| instance.matches(query, &kind_words(instance.kind)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_directory_parses_and_is_sane() {
        let file: File = toml::from_str(BUILTIN).expect("assets/instances.toml parses");
        let instances = file.instance;
        assert!(instances.len() >= 10);
        assert!(instances.iter().any(|i| i.protocol == Protocol::Mumble));
        for instance in &instances {
            assert!(!instance.name.is_empty() && !instance.organisation.is_empty());
            assert_eq!(instance.country.len(), 2, "{instance:?}");
            // Every entry opens as a link palabre understands.
            let link = instance.link();
            let parsed = crate::link::parse(&link);
            match instance.protocol {
                // A Jitsi instance needs a room before it is a meeting link.
                Protocol::Jitsi => assert!(
                    crate::link::parse(&format!("{link}room")).is_ok(),
                    "{link}: {parsed:?}"
                ),
                Protocol::Mumble => assert!(parsed.is_ok(), "{link}: {parsed:?}"),
            }
        }
        let mut hosts: Vec<_> = instances.iter().map(|i| &i.host).collect();
        hosts.sort();
        hosts.dedup();
        assert_eq!(hosts.len(), instances.len(), "duplicate hosts");
    }

    #[test]
    fn search_by_words_and_protocol() {
        let instances = builtin();
        let words = |kind: OrganisationKind| kind.key().replace('-', " ");
        let lyon = search(&instances, "lyon", None, words);
        assert_eq!(lyon.len(), 1);
        assert_eq!(lyon[0].host, "jitsi.hadoly.fr");
        assert!(search(&instances, "FR association", Some(Protocol::Jitsi), words).len() >= 3);
        let mumble = search(&instances, "", Some(Protocol::Mumble), words);
        assert!(mumble.iter().all(|i| i.protocol == Protocol::Mumble));
        assert!(search(&instances, "no such host anywhere", None, words).is_empty());
        assert_eq!(search(&instances, "", None, words).len(), instances.len());
        // The kind is found in the window's words.
        let french = |kind: OrganisationKind| match kind {
            OrganisationKind::ResearchNetwork => "réseau de recherche".to_owned(),
            other => other.key().to_owned(),
        };
        assert_eq!(
            search(&instances, "réseau recherche", None, french).len(),
            2
        );
    }

    #[test]
    fn own_servers_are_taken_from_a_host_or_any_link() {
        let mumble = OwnServer::new(
            " Our club ",
            Protocol::Jitsi,
            "mumble://ann@Voice.Example.org:64738/Lobby",
        )
        .expect("a Mumble link");
        assert_eq!(
            mumble,
            OwnServer {
                name: "Our club".into(),
                protocol: Protocol::Mumble,
                host: "voice.example.org".into(),
            }
        );
        assert_eq!(mumble.link(), "mumble://voice.example.org");
        let jitsi = OwnServer::new("", Protocol::Mumble, "https://meet.example.org/Standup?x=1")
            .expect("a Jitsi link");
        assert_eq!(
            (jitsi.protocol, jitsi.host.as_str(), jitsi.name.as_str()),
            (Protocol::Jitsi, "meet.example.org", "meet.example.org")
        );
        assert_eq!(jitsi.link(), "https://meet.example.org/");
        let bare =
            OwnServer::new("Work", Protocol::Mumble, "talk.example.net:6000").expect("a host");
        assert_eq!(bare.link(), "mumble://talk.example.net:6000");
        assert!(crate::link::parse(&bare.link()).is_ok());
        assert_eq!(
            OwnServer::new("x", Protocol::Jitsi, "  "),
            Err(OwnServerError::NoAddress)
        );
        for bad in [
            "ftp://example.org",
            "two words",
            "example.org:notaport",
            "://",
            "@",
        ] {
            assert!(
                matches!(
                    OwnServer::new("x", Protocol::Mumble, bad),
                    Err(OwnServerError::NotAnAddress(_))
                ),
                "{bad}"
            );
        }
        let long = "n".repeat(500);
        assert_eq!(
            OwnServer::new(&long, Protocol::Mumble, "a.example")
                .expect("a host")
                .name
                .chars()
                .count(),
            MAX_OWN_NAME
        );
    }

    #[test]
    fn own_servers_are_listed_once_and_the_list_is_bounded() {
        let mut list = Vec::new();
        let server = |host: &str| OwnServer::new("", Protocol::Mumble, host).expect("a host");
        server("a.example").add_to(&mut list).expect("added");
        assert_eq!(
            server("A.example").add_to(&mut list),
            Err(OwnServerError::AlreadyThere("a.example".into()))
        );
        // The same host for the other protocol is another server.
        OwnServer::new("", Protocol::Jitsi, "a.example")
            .expect("a host")
            .add_to(&mut list)
            .expect("added");
        for i in 0..MAX_OWN_SERVERS - 2 {
            server(&format!("s{i}.example"))
                .add_to(&mut list)
                .expect("added");
        }
        // Full: the next one is refused, and nothing is dropped.
        assert_eq!(list.len(), MAX_OWN_SERVERS);
        assert_eq!(
            server("one-more.example").add_to(&mut list),
            Err(OwnServerError::Full)
        );
        assert_eq!(list.len(), MAX_OWN_SERVERS);
        assert_eq!(list.first().map(|s| s.host.as_str()), Some("a.example"));
    }

    #[test]
    fn every_kind_has_its_words_in_both_languages() {
        use crate::i18n::{EN_FTL, FR_FTL};
        for (language, source) in [("en", EN_FTL), ("fr", FR_FTL)] {
            let start = source
                .find("\norganisation-kind =")
                .unwrap_or_else(|| panic!("{language}: no organisation-kind message"));
            let message = &source[start..];
            let message = &message[..message.find("\n}").expect("the message ends")];
            for kind in OrganisationKind::ALL {
                assert!(
                    message.contains(&format!("[{}]", kind.key())),
                    "{language}: {kind:?} has no words of its own"
                );
            }
        }
    }
}
