//! XML elements in and out, with limits.
//!
//! Each WebSocket frame of an XMPP stream (RFC 7395) holds one complete element, parsed here
//! into a [`minidom::Element`]. Before parsing, [`parse`] refuses frames over
//! [`MAX_ELEMENT_BYTES`] and elements nested deeper than [`MAX_DEPTH`]: minidom builds and drops
//! trees recursively, so a hostile server could otherwise exhaust the stack with a few hundred
//! kilobytes of `<a><a><a>…`.
//!
//! The builders ([`element`], [`ElementExt`]) are the one place that turns attribute names into
//! the XML library's checked names.

use minidom::Element;
use minidom::rxml::{Namespace, NcName};

/// The largest element accepted from the network, in bytes of UTF-8 (a Jingle offer for a
/// large meeting is a few tens of kilobytes).
pub const MAX_ELEMENT_BYTES: usize = 1024 * 1024;
/// The deepest nesting accepted (Jingle offers go about 7 levels deep).
pub const MAX_DEPTH: usize = 48;

/// Why an element from the network was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Over [`MAX_ELEMENT_BYTES`].
    #[error("the server sent an XML element of {0} bytes, more than palabre accepts")]
    TooLarge(usize),
    /// Over [`MAX_DEPTH`].
    #[error("the server sent an XML element nested too deeply")]
    TooDeep,
    /// Not well-formed XML, or not one element.
    #[error("the server sent malformed XML ({0})")]
    Malformed(String),
}

/// Parses one complete element, within the limits above.
pub fn parse(text: &str) -> Result<Element, XmlError> {
    if text.len() > MAX_ELEMENT_BYTES {
        return Err(XmlError::TooLarge(text.len()));
    }
    if nesting_depth(text.as_bytes()) > MAX_DEPTH {
        return Err(XmlError::TooDeep);
    }
    text.parse::<Element>()
        .map_err(|error| XmlError::Malformed(error.to_string()))
}

/// An upper bound of the element nesting of `xml`, found without building anything: start tags
/// count up, end tags down, self-closing tags, comments, CDATA sections and processing
/// instructions not at all; quoted attribute values are skipped. For malformed input the
/// figure is only an estimate, which is all the caller needs (the parser rejects it anyway).
fn nesting_depth(xml: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut i = 0;
    while i < xml.len() {
        if xml[i] != b'<' {
            i += 1;
            continue;
        }
        let rest = &xml[i..];
        if rest.starts_with(b"<!--") {
            i += find(&rest[4..], b"-->").map_or(xml.len(), |end| 4 + end + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            i += find(&rest[9..], b"]]>").map_or(xml.len(), |end| 9 + end + 3);
        } else if rest.starts_with(b"<?") || rest.starts_with(b"<!") {
            i += find(rest, b">").map_or(xml.len(), |end| end + 1);
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i += find(rest, b">").map_or(xml.len(), |end| end + 1);
        } else {
            // A start tag: find its end outside quoted values.
            let mut j = 1;
            let mut quote = None;
            while j < rest.len() {
                match (quote, rest[j]) {
                    (None, b'"' | b'\'') => quote = Some(rest[j]),
                    (Some(q), c) if c == q => quote = None,
                    (None, b'>') => break,
                    _ => {}
                }
                j += 1;
            }
            let self_closing = j >= 2 && j < rest.len() && rest[j - 1] == b'/';
            if !self_closing {
                depth += 1;
                deepest = deepest.max(depth);
            }
            i += j + 1;
        }
    }
    deepest
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The element as text, for a WebSocket frame.
pub fn to_string(element: &Element) -> String {
    let mut out = Vec::new();
    // Writing into memory fails only for names the XML library refuses, which the builders
    // below never produce.
    if element.write_to(&mut out).is_err() {
        tracing::error!(
            name = element.name(),
            "an outgoing XML element could not be written"
        );
    }
    String::from_utf8(out).unwrap_or_default()
}

/// An empty element `<name xmlns='ns'/>`.
pub fn element(name: &str, ns: &str) -> Element {
    Element::bare(name, ns)
}

/// Builder-style additions to [`Element`].
pub trait ElementExt: Sized {
    /// Sets attribute `name` (an XML name without a prefix) to `value`.
    fn set(&mut self, name: &str, value: impl Into<String>);
    /// With attribute `name` set to `value`.
    fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.set(name, value);
        self
    }
    /// With attribute `name` set to `value` when there is one.
    fn with_opt(self, name: &str, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => self.with(name, value),
            None => self,
        }
    }
    /// With `child` appended.
    fn child(self, child: Element) -> Self;
    /// With text content appended.
    fn text_node(self, text: impl Into<String>) -> Self;
    /// The value of attribute `name`, owned.
    fn attr_string(&self, name: &str) -> Option<String>;
}

/// `text` with the characters XML 1.0 cannot hold removed (control characters other than tab,
/// line feed and carriage return, and U+FFFE/U+FFFF): the XML writer refuses them, and a
/// user's chat text or name may contain them.
pub fn xml_safe(text: String) -> String {
    let allowed = |c: char| {
        matches!(c, '\t' | '\n' | '\r')
            || ('\u{20}'..='\u{D7FF}').contains(&c)
            || ('\u{E000}'..='\u{FFFD}').contains(&c)
            || c >= '\u{10000}'
    };
    if text.chars().all(allowed) {
        text
    } else {
        text.chars().filter(|&c| allowed(c)).collect()
    }
}

impl ElementExt for Element {
    fn set(&mut self, name: &str, value: impl Into<String>) {
        match NcName::try_from(name) {
            Ok(name) => self.set_attr(Namespace::NONE, name, xml_safe(value.into())),
            Err(_) => debug_assert!(false, "{name:?} is not an XML attribute name"),
        }
    }

    fn child(mut self, child: Element) -> Self {
        self.append_child(child);
        self
    }

    fn text_node(mut self, text: impl Into<String>) -> Self {
        self.append_text(xml_safe(text.into()));
        self
    }

    fn attr_string(&self, name: &str) -> Option<String> {
        self.attr(name).map(str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_reads_back() {
        let iq = element("iq", "jabber:client")
            .with("type", "get")
            .with("id", "a'\"<1")
            .child(element("ping", "urn:xmpp:ping"))
            .child(element("body", "jabber:client").text_node("x < y & \"z\""));
        let text = to_string(&iq);
        let back = parse(&text).expect("own output parses");
        assert_eq!(back.attr("id"), Some("a'\"<1"));
        assert!(back.has_child("ping", "urn:xmpp:ping"));
        assert_eq!(
            back.get_child("body", "jabber:client").map(Element::text),
            Some("x < y & \"z\"".to_owned())
        );
    }

    #[test]
    fn characters_xml_cannot_hold_are_dropped_from_text_and_attributes() {
        let message = element("body", "jabber:client")
            .with("id", "a\u{8}b")
            .text_node("bell\u{7} tab\t nul\u{0} \u{FFFF}ok é 😀");
        let text = to_string(&message);
        let back = parse(&text).expect("parses");
        assert_eq!(back.attr("id"), Some("ab"));
        assert_eq!(back.text(), "bell tab\t nul ok é 😀");
    }

    #[test]
    fn depth_is_measured_like_a_parser_would() {
        assert_eq!(nesting_depth(b"<a/>"), 0);
        assert_eq!(nesting_depth(b"<a></a>"), 1);
        assert_eq!(nesting_depth(b"<a x='>'><b><c/></b></a>"), 2);
        assert_eq!(
            nesting_depth(b"<a><!-- <b><c> --><![CDATA[<d><e>]]></a>"),
            1
        );
        assert_eq!(
            nesting_depth(b"<?xml version='1.0'?><a><b></b><b></b></a>"),
            2
        );
    }

    #[test]
    fn deep_and_large_input_is_refused_before_parsing() {
        let deep = "<a>".repeat(100_000) + &"</a>".repeat(100_000);
        assert_eq!(parse(&deep), Err(XmlError::TooDeep));
        let nested =
            "<a xmlns='x'>".to_owned() + &"<a>".repeat(MAX_DEPTH - 1) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&nested).is_ok(), "{:?}", parse(&nested));
        let large = format!("<a>{}</a>", "x".repeat(MAX_ELEMENT_BYTES));
        assert!(matches!(parse(&large), Err(XmlError::TooLarge(_))));
        assert!(matches!(parse("<a><b></a>"), Err(XmlError::Malformed(_))));
        assert!(matches!(parse(""), Err(XmlError::Malformed(_))));
        assert!(matches!(parse("not xml"), Err(XmlError::Malformed(_))));
    }
}
