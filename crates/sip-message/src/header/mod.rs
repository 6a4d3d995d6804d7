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
use std::fmt;
use std::sync::OnceLock;

/// One header line: its name and its raw value (unfolded, trimmed).
///
/// A parsed header does not hold a [`Text`] of its own until one is asked for: its value is a
/// range of the head of the [`Headers`] it belongs to, so parsing a message takes one
/// reference on the receive buffer instead of one per header. Every way of reaching a
/// `&Header` ([`Headers::iter`], `&Headers` as an iterator) makes the `Text`s first.
#[derive(Clone)]
pub struct Header {
    name: HeaderName,
    /// The value as a `Text`: set from the start for a header made with [`Header::new`], and
    /// the first time it is needed for a parsed one.
    text: OnceLock<Text>,
    /// Where a parsed value lies in the head of its `Headers`.
    span: Span,
    compact: bool,
}

/// A range of the head of a `Headers`, compact so that headers stay small.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// `start..end`.
    fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// The value of a header that has none: what [`Header::value`] gives for a parsed header
/// reached without its `Headers` (which the API does not allow).
static EMPTY: Text = Text::from_static("");

impl Header {
    /// A header from a name and a value. The value must not contain CR or LF.
    pub fn new(name: impl Into<HeaderName>, value: impl Into<Text>) -> Header {
        Header { name: name.into(), text: OnceLock::from(value.into()), span: Span::default(), compact: false }
    }

    /// The name.
    pub fn name(&self) -> &HeaderName {
        &self.name
    }

    /// The raw value.
    pub fn value(&self) -> &Text {
        self.text.get().unwrap_or(&EMPTY)
    }

    /// Was the compact form (`v`, `i`, `m`, ...) used on the wire? The serializer keeps it.
    pub fn is_compact(&self) -> bool {
        self.compact
    }
}

impl PartialEq for Header {
    fn eq(&self, other: &Header) -> bool {
        self.name == other.name && self.compact == other.compact && self.value() == other.value()
    }
}

impl Eq for Header {}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        HeaderView(self, self.value()).fmt(f)
    }
}

/// A header with its value, for `Debug`.
struct HeaderView<'a>(&'a Header, &'a str);

impl fmt::Debug for HeaderView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Header")
            .field("name", &self.0.name)
            .field("value", &self.1)
            .field("compact", &self.0.compact)
            .finish()
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
#[derive(Clone, Default)]
pub struct Headers {
    /// The head the values of parsed headers lie in (UTF-8 checked by the parser); empty for
    /// headers that were built.
    head: Text,
    list: Vec<Header>,
}

impl Headers {
    /// An empty list.
    pub fn new() -> Headers {
        Headers { head: Text::default(), list: Vec::new() }
    }

    /// An empty list for the parser, with room for `capacity` lines.
    pub(crate) fn with_capacity(capacity: usize) -> Headers {
        Headers { head: Text::default(), list: Vec::with_capacity(capacity) }
    }

    /// Appends a parsed header whose value is `head[start..end]` (the head is set at the end,
    /// with [`Headers::set_head`]). `text` makes the value as a `Text` of its own, for a value
    /// beyond 4 GiB into the head (only possible with limits raised that far).
    #[inline]
    pub(crate) fn push_parsed(
        &mut self,
        name: HeaderName,
        start: usize,
        end: usize,
        compact: bool,
        text: impl FnOnce() -> Text,
    ) {
        let header = match (u32::try_from(start), u32::try_from(end)) {
            (Ok(start), Ok(end)) => Header { name, text: OnceLock::new(), span: Span { start, end }, compact },
            _ => Header { name, text: OnceLock::from(text()), span: Span::default(), compact },
        };
        self.list.push(header);
    }

    /// Appends a parsed header whose value had to be rebuilt (unfolded).
    pub(crate) fn push_parsed_text(&mut self, name: HeaderName, value: Text, compact: bool) {
        self.list.push(Header { name, text: OnceLock::from(value), span: Span::default(), compact });
    }

    /// Sets the head after the parser found where it ends.
    pub(crate) fn set_head(&mut self, head: Text) {
        self.head = head;
    }

    /// The value of `h`, one of this list's headers, without making a `Text` of it.
    #[inline]
    pub(crate) fn value_str<'a>(&'a self, h: &'a Header) -> &'a str {
        match h.text.get() {
            Some(t) => t.as_str(),
            None => self.head.get(h.span.range()).unwrap_or_default(),
        }
    }

    /// The value of `h`, one of this list's headers, as a `Text` (made and kept on first use).
    fn value_text<'a>(&'a self, h: &'a Header) -> &'a Text {
        h.text.get_or_init(|| self.head.slice(h.span.range()))
    }

    /// Makes the `Text` of every value, so that any `&Header` handed out has it.
    fn materialize(&self) {
        for h in &self.list {
            self.value_text(h);
        }
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
        self.materialize();
        self.list.iter()
    }

    /// Names, values (as bytes) and compact flags of all lines, in order, without making
    /// `Text`s: what the serializer needs.
    pub(crate) fn raw_iter(&self) -> impl Iterator<Item = (&HeaderName, &[u8], bool)> {
        let head = self.head.as_bytes();
        self.list.iter().map(move |h| {
            let value = match h.text.get() {
                Some(t) => t.as_bytes(),
                None => head.get(h.span.range()).unwrap_or_default(),
            };
            (&h.name, value, h.compact)
        })
    }

    /// The raw value of the first line named `key`.
    pub fn get(&self, key: impl HeaderKey) -> Option<&Text> {
        self.list.iter().find(|h| key.matches(&h.name)).map(|h| self.value_text(h))
    }

    /// The raw values of every line named `key`, in order.
    pub fn get_all<K: HeaderKey>(&self, key: K) -> impl Iterator<Item = &Text> {
        self.list.iter().filter(move |h| key.matches(&h.name)).map(move |h| self.value_text(h))
    }

    /// [`Headers::get`] as a new `Text` (for copying a value into another message).
    pub(crate) fn get_owned(&self, key: impl HeaderKey) -> Option<Text> {
        self.list.iter().find(|h| key.matches(&h.name)).map(|h| self.owned(h))
    }

    /// [`Headers::get_all`] as new `Text`s.
    pub(crate) fn get_all_owned<'a, K: HeaderKey + 'a>(&'a self, key: K) -> impl Iterator<Item = Text> + 'a {
        self.list.iter().filter(move |h| key.matches(&h.name)).map(move |h| self.owned(h))
    }

    fn owned(&self, h: &Header) -> Text {
        match h.text.get() {
            Some(t) => t.clone(),
            None => self.head.slice(h.span.range()),
        }
    }

    /// The raw values of every line named `key`, in order, without making `Text`s.
    #[inline]
    pub(crate) fn get_all_str<K: HeaderKey>(&self, key: K) -> impl Iterator<Item = &str> {
        self.list.iter().filter(move |h| key.matches(&h.name)).map(move |h| self.value_str(h))
    }

    /// Every comma-separated item of every line named `key`, in order.
    pub fn values<K: HeaderKey>(&self, key: K) -> impl Iterator<Item = &str> {
        self.get_all_str(key).flat_map(|v| split_commas(v).map(|(_, s)| s))
    }

    /// Is there a line named `key`?
    pub fn contains(&self, key: impl HeaderKey) -> bool {
        self.get(key).is_some()
    }

    /// Appends a line.
    pub fn push(&mut self, name: impl Into<HeaderName>, value: impl Into<Text>) {
        self.list.push(Header::new(name, value));
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
                h.text = OnceLock::from(value.into());
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
        let mut lines = self.get_all_str(T::NAME);
        let Some(first) = lines.next() else { return Ok(None) };
        if lines.next().is_some() {
            return Err(
                ParseError::syntax(0, "a single header line (it appears more than once)").within(T::NAME.as_str())
            );
        }
        T::parse(first).map(Some).map_err(|e| e.within(T::NAME.as_str()))
    }

    /// Decodes every item of a list header, across all its lines, in order.
    pub fn typed_all<'a, T: ListHeader<'a>>(&'a self) -> impl Iterator<Item = Result<T, ParseError>> + 'a {
        self.get_all_str(T::NAME).flat_map(|v| {
            split_commas(v).map(|(off, item)| T::parse(item).map_err(|e| e.shifted(off).within(T::NAME.as_str())))
        })
    }
}

impl<'a> IntoIterator for &'a Headers {
    type Item = &'a Header;
    type IntoIter = std::slice::Iter<'a, Header>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Two lists are equal when they have the same lines (names, values, compact flags) in the
/// same order, wherever the values are stored.
impl PartialEq for Headers {
    fn eq(&self, other: &Headers) -> bool {
        self.list.len() == other.list.len()
            && self
                .list
                .iter()
                .zip(&other.list)
                .all(|(a, b)| a.name == b.name && a.compact == b.compact && self.value_str(a) == other.value_str(b))
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list: Vec<HeaderView<'_>> = self.list.iter().map(|h| HeaderView(h, self.value_str(h))).collect();
        f.debug_struct("Headers").field("list", &list).finish()
    }
}
