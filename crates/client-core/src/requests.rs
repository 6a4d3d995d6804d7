//! Requests outside calls: an OPTIONS probe ("is this server there, and what does it
//! support?"), an instant message (MESSAGE, RFC 3428), and any other method a dialog does
//! not carry (PUBLISH, ...).
//!
//! The session layer routes them like any request (RFC 3263, with fail-over past targets
//! that are silent, refuse the connection or answer 503) and answers digest challenges with
//! `security.credentials`; the response says which target answered, the round trip, and
//! the targets left behind on the way.

use crate::{ClientError, ClientManager};
use session_core::{RequestOptions, SipClient, SipResponse, SubscribeOptions, SubscriptionId};

impl ClientManager {
    /// Sends OPTIONS to `uri` (a server, `sip:example.com;transport=tcp`, or a user) and
    /// returns its final response. `target_timeout` gives up on one target after that long
    /// and tries the next (default: the transaction's 32 s).
    ///
    /// ```no_run
    /// # async fn probe(client: &client_core::ClientManager) -> client_core::Result<()> {
    /// let answer = client.send_options("sip:pbx.example.com", None).await?;
    /// println!("{} {} in {:?}", answer.status, answer.reason, answer.elapsed);
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self))]
    pub async fn send_options(
        &self,
        uri: &str,
        target_timeout: Option<std::time::Duration>,
    ) -> Result<SipResponse, ClientError> {
        let options = RequestOptions {
            headers: vec![("Accept".into(), "application/sdp".into())],
            target_timeout,
            ..RequestOptions::default()
        };
        self.send_request("OPTIONS", uri, options).await
    }

    /// Sends `text` as an instant message (MESSAGE, `text/plain`) to `to`, from the first
    /// registered account (its credentials answer challenges, its outbound proxy routes
    /// it), else from this client. Returns the final response: a 2xx means delivered (or
    /// accepted for delivery, 202). Messages that arrive come as
    /// [`ClientEvent::MessageReceived`](crate::ClientEvent::MessageReceived).
    ///
    /// ```no_run
    /// # async fn m(client: &client_core::ClientManager) -> client_core::Result<()> {
    /// let answer = client.send_message("sip:supervisor@pbx.example.com", "caller asks for you").await?;
    /// assert!((200..300).contains(&answer.status));
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self, text))]
    pub async fn send_message(&self, to: &str, text: &str) -> Result<SipResponse, ClientError> {
        let from = {
            let registered = self.get_all_registrations().into_iter().find(|r| r.is_registered()).map(|r| r.aor);
            registered.or_else(|| self.config().accounts.first().map(|a| a.aor()))
        };
        let options = RequestOptions {
            body: Some(("text/plain;charset=UTF-8".into(), text.as_bytes().to_vec())),
            from,
            ..RequestOptions::default()
        };
        self.send_request("MESSAGE", to, options).await
    }

    /// Subscribes to `event` at `uri` (RFC 6665: `message-summary` for voicemail,
    /// `presence`, `dialog` for busy-lamp fields), as the first registered account when
    /// there is one. The subscription is refreshed and renewed by itself; each NOTIFY comes
    /// as [`ClientEvent::Notify`](crate::ClientEvent::Notify) (with
    /// [`Notification::message_summary`](crate::Notification::message_summary) and the
    /// like to read it), the end as
    /// [`ClientEvent::SubscriptionEnded`](crate::ClientEvent::SubscriptionEnded).
    ///
    /// ```no_run
    /// # async fn s(client: &client_core::ClientManager) -> client_core::Result<()> {
    /// let mwi = client.subscribe("sip:alice@pbx.example.com", "message-summary").await?;
    /// // ...
    /// client.unsubscribe(mwi).await?;
    /// # Ok(()) }
    /// ```
    #[tracing::instrument(skip(self))]
    pub async fn subscribe(&self, uri: &str, event: &str) -> Result<SubscriptionId, ClientError> {
        let from = self.get_all_registrations().into_iter().find(|r| r.is_registered()).map(|r| r.aor);
        let accept = match event {
            "message-summary" => Some("application/simple-message-summary".to_owned()),
            "presence" => Some("application/pidf+xml".to_owned()),
            "dialog" => Some("application/dialog-info+xml".to_owned()),
            _ => None,
        };
        let options = SubscribeOptions { accept, from, ..SubscribeOptions::default() };
        Ok(self.session()?.subscribe(uri, event, options).await?)
    }

    /// Ends a subscription (SUBSCRIBE with Expires: 0); returns when the notifier answered.
    #[tracing::instrument(skip(self))]
    pub async fn unsubscribe(&self, id: SubscriptionId) -> Result<(), ClientError> {
        Ok(self.session()?.unsubscribe(id).await?)
    }

    /// Sends a request of `method` outside any call and returns its final response (a
    /// method that belongs to calls, such as INVITE or BYE, is refused).
    #[tracing::instrument(skip(self, options))]
    pub async fn send_request(
        &self,
        method: &str,
        uri: &str,
        options: RequestOptions,
    ) -> Result<SipResponse, ClientError> {
        let session = self.session()?;
        Ok(session.send_request_with(method, uri, options).await?)
    }
}
