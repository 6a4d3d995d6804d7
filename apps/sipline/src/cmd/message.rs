//! `sipline message URI TEXT`: sends TEXT as an instant message (SIP MESSAGE, RFC 3428,
//! `text/plain`) and prints the answer. With the account flags it goes as that account (its
//! address of record in From, its password for a challenge). Exit 0 on a 2xx, 1 otherwise,
//! 2 on bad usage.

use super::client::{self, ClientArgs, Failure};
use client_core::RequestOptions;
use std::process::ExitCode;

/// Arguments of `sipline message`.
#[derive(clap::Args)]
pub struct Args {
    /// Whom to send it to, e.g. sip:bob@example.com.
    uri: String,
    /// The text.
    text: String,
    #[command(flatten)]
    client: ClientArgs,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("message", async move {
        match send(args).await {
            Ok(code) => code,
            Err(f) => f.exit("message"),
        }
    })
}

async fn send(args: Args) -> Result<ExitCode, Failure> {
    if !args.uri.starts_with("sip:") && !args.uri.starts_with("sips:") {
        return Err(Failure::Usage(format!("'{}' is not a sip: or sips: URI", args.uri)));
    }
    let config = args.client.config(Some(&args.uri))?;
    let options = RequestOptions {
        body: Some(("text/plain;charset=UTF-8".into(), args.text.clone().into_bytes())),
        from: args.client.account().map(|a| a.aor()),
        ..RequestOptions::default()
    };
    let uri = args.uri.clone();
    let answer = client::one_request(&args.client, config, |client| async move {
        client.send_request("MESSAGE", &uri, options).await
    })
    .await?;
    super::options::report(&args.uri, None, answer, &["Server", "User-Agent"])
}
