//! Headers: an ordered list that keeps every header as received, with typed views decoded on
//! demand.
//!
//! [`Headers`] never reorders, merges or normalises what arrived: duplicates stay, unknown
//! headers pass through intact, and the raw value of each is a [`Text`] slice of the receive
//! buffer. Typed access ([`Headers::typed`], [`Headers::typed_all`] and the shortcuts such as
//! [`Headers::cseq`]) parses a value only when asked, into types that borrow from it.

mod name;
pub mod typed;

pub use name::{HeaderName, StandardHeader};

use crate::error::ParseError;
use crate::scan::split_commas;
use crate::text::Text;

/// One header line: its name and its raw value (unfolded, trimmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    name: HeaderName,
    value: Text,
    compact: bool,
}

impl Header {
    /// A header from a name and a value. The value must not contain CR or LF.
    pub fn new(name: impl Into<HeaderName>, value: impl Into<Text>) -> Header {
        Header { name: name.into(), value: value.into(), compact: false }
    }

    pub(crate) fn parsed(name: HeaderName, value: Text, compact: bool) -> Header {
        Header { name, value, compact }
    }

    /// The name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The raw value.
    pub fn value(&self) -> &Text {
        &self.value
    }

    /// Was the compact form (`v`, `i`, `m`, ...) used on the wire? The serializer keeps it.
    pub fn is_compact(&self) -> bool {
        self.compact
    }
}

/// Something a header can be looked up by: a [`StandardHeader`], a [`HeaderName`], or a
/// `&str` (any case; compact forms recognised).
pub trait HeaderKey {
    /// Does `name` match this key?
    fn matches(&self, name: &HeaderName) -> bool;
}

impl HeaderKey for StandardHeader {
    fn matches(&self, name: &HeaderName) -> bool {
        name.standard() == Some(*self)
    }
}

impl HeaderKey for HeaderName {
    fn matches(&self, name: &HeaderName) -> bool {
        self == name
    }
}

impl HeaderKey for &str {
    fn matches(&self, name: &HeaderName) -> bool {
        match name {
            HeaderName::Standard(s) => {
                s.as_str().eq_ignore_ascii_case(self)
                    || (self.len() == 1
                        && s.compact().is_some_and(|c| self.eq_ignore_ascii_case(c.encode_utf8(&mut [0; 4]))))
            }
            HeaderName::Other(t) => t.eq_ignore_ascii_case(self),
        }
    }
}

/// A header type that can be decoded from one raw value.
pub trait TypedHeader<'a>: Sized {
    /// The header it decodes.
    const NAME: StandardHeader;
    /// Decodes one value (one comma-separated item for a [`ListHeader`]).
    fn parse(value: &'a str) -> Result<Self, ParseError>;
}

/// A header whose value is a comma-separated list and that may appear on several lines
/// (RFC 3261 §7.3.1); each item decodes on its own.
pub trait ListHeader<'a>: TypedHeader<'a> {}

/// The ordered header list of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    list: Vec<Header>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers { list: Vec::new() }
    }

    pub(crate) fn with_capacity(n: usize) -> Headers {
        Headers { list: Vec::with_capacity(n) }
    }

    /// The number of header lines.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// No headers at all?
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// All header lines, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Header> {
        self.list.iter()
    }

    /// The raw value of the first line named `key`.
    pub fn get(&self, key: impl HeaderKey) -> Option<&Text> {
        self.list.iter().find(|h| key.matches(&h.name)).map(|h| &h.value)
    }

    /// The raw values of every line named `key`, in order.
    pub fn get_all<K: HeaderKey>(&self, key: K) -> impl Iterator<Item = &Text> {
        self.list.iter().filter(move |h| key.matches(&h.name)).map(|h| &h.value)
    }

    /// Every comma-separated item of every line named `key`, in order.
    pub fn values<K: HeaderKey>(&self, key: K) -> impl Iterator<Item = &str> {
        self.get_all(key).flat_map(|v| split_commas(v.as_str()).map(|(_, s)| s))
    }

    /// Is there a line named `key`?
    pub fn contains(&self, key: impl HeaderKey) -> bool {
        self.get(key).is_some()
    }

    /// Appends a line.
    pub fn push(&mut self, name: impl Into<HeaderName>, value: impl Into<Text>) {
        self.list.push(Header::new(name, value));
    }

    pub(crate) fn push_header(&mut self, h: Header) {
        self.list.push(h);
    }

    /// Inserts a line at the top (as a proxy does with Via).
    pub fn push_front(&mut self, name: impl Into<HeaderName>, value: impl Into<Text>) {
        self.list.insert(0, Header::new(name, value));
    }

    /// The index of the first line named `key`.
    pub fn position(&self, key: impl HeaderKey) -> Option<usize> {
        self.list.iter().position(|h| key.matches(&h.name))
    }

    /// Replaces the value of the line at `index` (keeping its name); false if out of range.
    pub fn replace_value(&mut self, index: usize, value: impl Into<Text>) -> bool {
        match self.list.get_mut(index) {
            Some(h) => {
                h.value = value.into();
                true
            }
            None => false,
        }
    }

    /// Inserts a line at `index` (at the end if `index` is past it).
    pub fn insert(&mut self, index: usize, name: impl Into<HeaderName>, value: impl Into<Text>) {
        let index = index.min(self.list.len());
        self.list.insert(index, Header::new(name, value));
    }

    /// Removes every line named `key`; returns how many were removed.
    pub fn remove_all(&mut self, key: impl HeaderKey) -> usize {
        let before = self.list.len();
        self.list.retain(|h| !key.matches(&h.name));
        before - self.list.len()
    }

    /// Replaces every line named like `name` with one line carrying `value`, at the position
    /// of the first one (or at the end).
    pub fn set(&mut self, name: impl Into<HeaderName>, value: impl Into<Text>) {
        let name = name.into();
        let value = value.into();
        match self.list.iter().position(|h| h.name == name) {
            Some(i) => {
                self.list[i] = Header::new(name.clone(), value);
                let mut seen = false;
                self.list.retain(|h| {
                    if h.name == name {
                        let keep = !seen;
                        seen = true;
                        keep
                    } else {
                        true
                    }
                });
            }
            None => self.list.push(Header::new(name, value)),
        }
    }

    /// Decodes the single line of a single-valued header; an error if it is absent, appears
    /// more than once, or does not parse.
    pub fn typed<'a, T: TypedHeader<'a>>(&'a self) -> Result<T, ParseError> {
        self.typed_opt()?.ok_or(ParseError::missing(T::NAME.as_str()))
    }

    /// Like [`Headers::typed`], but `Ok(None)` when the header is absent.
    pub fn typed_opt<'a, T: TypedHeader<'a>>(&'a self) -> Result<Option<T>, ParseError> {
        let mut lines = self.get_all(T::NAME);
        let Some(first) = lines.next() else { return Ok(None) };
        if lines.next().is_some() {
            return Err(
                ParseError::syntax(0, "a single header line (it appears more than once)").within(T::NAME.as_str())
            );
        }
        T::parse(first.as_str()).map(Some).map_err(|e| e.within(T::NAME.as_str()))
    }

    /// Decodes every item of a list header, across all its lines, in order.
    pub fn typed_all<'a, T: ListHeader<'a>>(&'a self) -> impl Iterator<Item = Result<T, ParseError>> + 'a {
        self.get_all(T::NAME).flat_map(|v| {
            split_commas(v.as_str())
                .map(|(off, item)| T::parse(item).map_err(|e| e.shifted(off).within(T::NAME.as_str())))
        })
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}
