//! `sipline answer`: an answering bot. It answers every incoming call (playing, recording
//! and sending DTMF as asked), optionally hangs up after `--hangup-after` seconds, prints
//! what happens and one line of statistics per call, and exits 0 once `--count` answered
//! calls have ended normally (1 on Ctrl-C or a failed registration, 2 on bad usage). With
//! `--early-media FILE.wav` each call first gets 183 and the file, once, then the answer.

use super::client::{self, ClientArgs, Failure};
use super::media::{self, MediaArgs};
use client_core::{AudioSource, CallId, CallState, ClientEvent, ClientManager};
use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Arguments of `sipline answer`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    client: ClientArgs,
    /// How many answered calls to complete before exiting.
    #[arg(long, default_value_t = 1)]
    count: u32,
    /// Hang up this many seconds after answering (default: wait for the caller's BYE).
    #[arg(long)]
    hangup_after: Option<f64>,
    /// Before answering, send 183 Session Progress and play this WAV file once as early
    /// media (an announcement, ringback); the call is answered when it has played.
    #[arg(long, value_name = "FILE.wav")]
    early_media: Option<PathBuf>,
    #[command(flatten)]
    media: MediaArgs,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("answer", async move {
        match answer(args).await {
            Ok(code) => code,
            Err(f) => f.exit("answer"),
        }
    })
}

async fn answer(args: Args) -> Result<ExitCode, Failure> {
    let hangup_after = args.hangup_after.map(|s| client::seconds(s, "hangup-after")).transpose()?;
    let early = match &args.early_media {
        Some(path) => {
            let pcm = client_core::load_wav(path).map_err(|e| Failure::Usage(format!("--early-media: {e}")))?;
            let length = Duration::from_secs_f64(pcm.samples.len() as f64 / f64::from(pcm.rate.max(1)));
            Some(EarlyMedia { path: path.clone(), length })
        }
        None => None,
    };
    let mut config = args.client.config(args.client.registrar.as_deref())?;
    // With early media each call is answered here once its announcement has played.
    config.calls.auto_answer = early.is_none();
    args.media.apply(&mut config)?;
    let after_early = match (&config.media.play_file, config.media.tone_hz) {
        (Some(_), _) => None,
        (None, Some(hz)) => Some(AudioSource::Tone(hz)),
        (None, None) => Some(AudioSource::Silence),
    };
    let mut running = match client::launch(&args.client, config).await? {
        Ok(running) => running,
        Err(code) => return Ok(code),
    };
    let client = running.client.clone();
    let addr = client.local_address().map_err(|e| Failure::Run(e.to_string()))?;
    let uri = client.local_uri("sipline").map_err(|e| Failure::Run(e.to_string()))?;
    println!("listening on {addr} (call {uri}); waiting for {} call(s)", args.count);
    let mut completed = 0u32;
    let mut nth = 0u32;
    let mut answered = HashSet::new();
    // Calls reported when events were lost (see `Lagged` below), so their end is not reported twice.
    let mut finished_early = VecDeque::new();
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let status = loop {
        if completed >= args.count {
            break ExitCode::SUCCESS;
        }
        tokio::select! {
            ev = running.events.recv() => match ev {
                Ok(ClientEvent::IncomingCall { call }) => {
                    if let Some(early) = &early {
                        let (client, early, play) = (client.clone(), early.clone(), args.media.play.clone());
                        let after = after_early.clone();
                        tokio::spawn(async move { early.then_answer(&client, call.id, play, after).await });
                    }
                }
                Ok(ClientEvent::CallStateChanged { id, old: CallState::Incoming, new: CallState::Active }) => {
                    answered.insert(id);
                    nth += 1;
                    let client = client.clone();
                    let media_args = args.media.clone();
                    tokio::spawn(async move {
                        media_args.on_answered(&client, id, nth).await;
                        match hangup_after {
                            Some(after) => {
                                tokio::time::sleep(after).await;
                                let _ = client.hangup_call(id).await;
                            }
                            None => {
                                let mut tick = tokio::time::interval(Duration::from_secs(2));
                                tick.tick().await;
                                loop {
                                    tick.tick().await;
                                    match client.get_call(id) {
                                        Some(c) if c.end.is_none() => {}
                                        _ => break,
                                    }
                                    if let Ok(stats) = client.get_rtp_statistics(id).await {
                                        println!("{}", client::rtp_line(id, &stats));
                                    }
                                }
                            }
                        }
                    });
                }
                Ok(ClientEvent::CallEnded { call }) => {
                    // `answered_at` too: the state change may have been among events lost to lag.
                    let reported = finished_early.contains(&call.id);
                    if answered.remove(&call.id) || (call.answered_at.is_some() && !reported) {
                        completed += report_end(&call);
                    }
                }
                Ok(_) => {}
                Err(client_core::broadcast::error::RecvError::Lagged(n)) => {
                    println!("({n} events not shown)");
                    // An end lost with them leaves its call here: finish it from its record.
                    answered.retain(|id| match client.get_call(*id) {
                        Some(call) if call.end.is_some() => {
                            completed += report_end(&call);
                            // Its CallEnded may still be queued: at most a channel's worth
                            // of events is, so remembering that many ids is enough.
                            if finished_early.len() == client_core::EVENT_CAPACITY {
                                finished_early.pop_front();
                            }
                            finished_early.push_back(call.id);
                            false
                        }
                        Some(_) => true,
                        None => false,
                    });
                }
                Err(client_core::broadcast::error::RecvError::Closed) => break ExitCode::from(1),
            },
            _ = &mut ctrl_c => {
                println!("stopping (Ctrl-C) after {completed} completed call(s)");
                break ExitCode::from(1);
            }
        }
    };
    drop(client);
    running.finish(true).await;
    Ok(status)
}

/// `--early-media`: the file and how long it plays.
#[derive(Clone)]
struct EarlyMedia {
    path: PathBuf,
    length: Duration,
}

impl EarlyMedia {
    /// 183 and the file on call `id`, then, once it has played, the call's own audio
    /// (`play`, else `after`) and the answer. A failure is printed and the call answered
    /// at once instead.
    async fn then_answer(
        self,
        client: &Arc<ClientManager>,
        id: CallId,
        play: Option<PathBuf>,
        after: Option<AudioSource>,
    ) {
        let started = async {
            client.send_early_media(id).await?;
            client.play_audio_file(id, &self.path).await
        };
        match started.await {
            Ok(()) => {
                println!(
                    "{id} early media: playing {} ({:.1} s) before answering",
                    self.path.display(),
                    self.length.as_secs_f64()
                );
                tokio::time::sleep(self.length).await;
                let restored = match (&play, after) {
                    (Some(path), _) => client.play_audio_file(id, path).await,
                    (None, Some(source)) => client.set_audio_source(id, source).await,
                    (None, None) => Ok(()),
                };
                if let Err(e) = restored {
                    println!("{id} cannot switch from the early media: {e}");
                }
            }
            Err(e) => println!("{id} no early media: {e}"),
        }
        if let Err(e) = client.answer_call(id).await {
            println!("{id} cannot answer: {e}");
        }
    }
}

/// Prints the statistics line of an answered call that ended; 1 if it ended normally (it
/// counts toward `--count`), else 0.
fn report_end(call: &client_core::CallInfo) -> u32 {
    if let Some(rtp) = call.final_rtp() {
        println!("{}", media::stats_line(call.id, rtp));
    }
    u32::from(call.end.as_ref().is_some_and(client::ended_normally))
}
