//! Answers every request with 200 OK: the server side of the OPTIONS load run in BENCHMARKS.md.
//!
//! `cargo run --release -p sip-endpoint --example options_server -- 127.0.0.1:5070 [udp|tcp]`

use sip_endpoint::{Endpoint, EndpointConfig, IncomingEvent};
use sip_message::{StatusCode, Transport};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:5070".to_owned()).parse()?;
    let transport = args.next().and_then(|t| Transport::from_token(&t)).unwrap_or(Transport::Udp);
    let mut config = EndpointConfig::default();
    config.transport.listen = vec![(transport, addr)];
    config.incoming_queue = 65_536;
    let (endpoint, mut incoming) = Endpoint::start(config).await?;
    eprintln!("answering on {} {:?}", transport, endpoint.local_addr(transport));
    let mut answered: u64 = 0;
    loop {
        tokio::select! {
            ev = incoming.next() => match ev {
                Some(IncomingEvent::Request(mut st)) => {
                    let _ = st.reply(StatusCode::OK, Some("srv")).await;
                    answered += 1;
                }
                Some(_) => {}
                None => break,
            },
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    eprintln!("answered {answered} requests");
    Ok(())
}
