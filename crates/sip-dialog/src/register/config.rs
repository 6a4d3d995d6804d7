//! [`AccountConfig`]: what one registration needs to know.

use super::backoff::Backoff;
use crate::via::ViaTemplate;
use sip_message::auth::Credentials;

/// One account's registration settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountConfig {
    /// The registrar's URI: the Request-URI of every REGISTER (e.g. `sip:example.com`).
    pub registrar: String,
    /// The address of record, in To and From (e.g. `sip:alice@example.com`).
    pub aor: String,
    /// The display name in To and From.
    pub display_name: Option<String>,
    /// The URI to bind (our Contact), e.g. `sip:alice@192.0.2.4:5060`.
    pub contact: String,
    /// A `urn:uuid:...` for `+sip.instance` (RFC 5626 §4.1); with [`Self::reg_id`] the
    /// registration asks for outbound behaviour.
    pub instance_id: Option<String>,
    /// The `reg-id` of this flow (RFC 5626 §4.2).
    pub reg_id: Option<u32>,
    /// Ask for a GRUU (RFC 5627): `Supported: gruu` with the `+sip.instance` of
    /// [`Self::instance_id`]; the `pub-gruu` granted is [`Registration::gruu`](super::Registration::gruu).
    pub gruu: bool,
    /// The expiry to ask for, in seconds (3600 by default); a 423 raises it.
    pub expires: u32,
    /// The credentials to answer 401/407 with.
    pub credentials: Option<Credentials>,
    /// The Via of our REGISTERs.
    pub via: ViaTemplate,
    /// Route headers to preload (an outbound proxy, `<sip:proxy.example.com;lr>`).
    pub route: Vec<String>,
    /// How long to wait after failures.
    pub backoff: Backoff,
    /// Give up (the terminal `Failed` state) after this many failures in a row; `None`
    /// keeps trying, as a phone waiting for its network should.
    pub max_failures: Option<u32>,
}

impl AccountConfig {
    /// An account registering `contact` for `aor` at `registrar`, asking for 3600 s, with
    /// the back-off of RFC 5626 §4.5 and no credentials.
    pub fn new(
        registrar: impl Into<String>,
        aor: impl Into<String>,
        contact: impl Into<String>,
        via: ViaTemplate,
    ) -> AccountConfig {
        AccountConfig {
            registrar: registrar.into(),
            aor: aor.into(),
            display_name: None,
            contact: contact.into(),
            instance_id: None,
            reg_id: None,
            gruu: false,
            expires: 3600,
            credentials: None,
            via,
            route: Vec::new(),
            backoff: Backoff::default(),
            max_failures: None,
        }
    }

    /// The Contact value of a REGISTER: our URI with `+sip.instance` and `reg-id` when
    /// configured, and `expires=0` when removing the binding.
    pub(crate) fn contact_value(&self, remove: bool) -> String {
        let uri = self.contact.trim();
        let mut v = if uri.starts_with('<') || uri.contains(" <") { uri.to_owned() } else { format!("<{uri}>") };
        if let Some(id) = &self.instance_id {
            let id = id.trim_start_matches('<').trim_end_matches('>');
            v.push_str(&format!(";+sip.instance=\"<{id}>\""));
        }
        if let Some(r) = self.reg_id {
            v.push_str(&format!(";reg-id={r}"));
        }
        if remove {
            v.push_str(";expires=0");
        }
        v
    }
}
