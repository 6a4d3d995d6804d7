//! `sipline agent`: a softphone for a call-center agent. On a terminal it is a full-screen
//! view (ratatui): the account and its registration, the calls with state, timer, codec and
//! quality, the recent events, and keys to act. When standard input is not a terminal (or
//! with `--lines`) it reads one command per line and prints one line per event, so scripts
//! and tests can drive it. Exit 0 on quit, 1 when it cannot start, 2 on bad usage.

use super::client::{self, ClientArgs, Failure};
use super::media::MediaArgs;
use client_core::{CallDirection, CallId, CallInfo, CallState, ClientEvent, ClientManager, RegistrationInfo};
use std::collections::{HashMap, VecDeque};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Arguments of `sipline agent`.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    client: ClientArgs,
    /// Answer every incoming call at once.
    #[arg(long)]
    auto_answer: bool,
    #[command(flatten)]
    media: MediaArgs,
    /// Read commands line by line even on a terminal (the mode scripts use).
    #[arg(long)]
    lines: bool,
}

/// Runs the command.
pub fn run(args: Args) -> ExitCode {
    client::run("agent", async move {
        match agent(args).await {
            Ok(code) => code,
            Err(f) => f.exit("agent"),
        }
    })
}

async fn agent(args: Args) -> Result<ExitCode, Failure> {
    let mut config = args.client.config(args.client.registrar.as_deref())?;
    config.calls.auto_answer = args.auto_answer;
    config.telemetry.quality_interval_ms = 1000;
    args.media.apply(&mut config)?;
    let terminal = std::io::stdin().is_terminal() && std::io::stdout().is_terminal() && !args.lines;
    // Before the full-screen view takes the terminal, so its one line does not disturb it.
    args.client.serve_metrics()?;
    // The full-screen view owns the terminal: the wire trace would scribble over it.
    let mut shared = args.client.clone();
    shared.trace &= !terminal;
    let (builder, capture) = shared.builder(config)?;
    let client = builder.build().await.map_err(|e| Failure::Usage(e.to_string()))?;
    let view = View::new(&client, args.media.clone());
    client.start().await.map_err(|e| Failure::Run(e.to_string()))?;
    if let (Some(c), Ok(addr)) = (&capture, client.local_address()) {
        c.set_local_sip(addr);
    }
    let from = match args.client.account() {
        Some(account) => {
            let aor = account.aor();
            let c = client.clone();
            // Registration runs in the background: the view shows it as it goes.
            tokio::spawn(async move {
                if let Err(e) = c.register(account).await {
                    tracing::info!(error = %e, "registration failed");
                }
            });
            aor
        }
        None => match client.config().accounts.first() {
            Some(a) => a.aor(),
            None => client.local_uri("agent").map_err(|e| Failure::Run(e.to_string()))?,
        },
    };
    let code = if terminal { tui::run(&client, view, &from).await } else { lines(&client, view, &from).await };
    client.stop().await;
    if !terminal {
        client::close_capture(capture);
    } else if let Some(c) = capture {
        let _ = c.finish();
    }
    Ok(code)
}

/// What the agent shows besides the client's own tables: the codec and quality of each
/// call, and the recent events.
pub(crate) struct View {
    events: client_core::broadcast::Receiver<ClientEvent>,
    codecs: HashMap<CallId, String>,
    /// Loss fraction, jitter (ms) and MOS of each call's last quality sample.
    quality: HashMap<CallId, (f64, f64, Option<f64>)>,
    log: VecDeque<String>,
    started: Instant,
    /// What to do as each call is answered (record, send DTMF), and how many were.
    media: MediaArgs,
    answered: u32,
}

const LOG_LINES: usize = 200;

impl View {
    fn new(client: &ClientManager, media: MediaArgs) -> View {
        View {
            events: client.subscribe_events(),
            codecs: HashMap::new(),
            quality: HashMap::new(),
            log: VecDeque::new(),
            started: Instant::now(),
            media,
            answered: 0,
        }
    }

    /// Takes in one event; returns its line for the log (none for quality samples).
    async fn take(&mut self, client: &ClientManager, e: ClientEvent) -> Option<String> {
        match &e {
            ClientEvent::MediaQuality { id, loss_fraction, jitter_ms, mos, .. } => {
                self.quality.insert(*id, (*loss_fraction, *jitter_ms, *mos));
                return None;
            }
            ClientEvent::CallStateChanged { id, old, new: CallState::Active } => {
                if let Ok(m) = client.get_call_media_info(*id).await {
                    if let Some(codec) = m.codec {
                        self.codecs.insert(*id, codec);
                    }
                }
                if *old != CallState::OnHold && (self.media.record.is_some() || self.media.dtmf.is_some()) {
                    self.answered += 1;
                    self.media.on_answered(client, *id, self.answered).await;
                }
            }
            _ => {}
        }
        let line = format!("[{:7.2}] {e}", self.started.elapsed().as_secs_f64());
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line.clone());
        Some(line)
    }
}

/// mm:ss of a duration.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    format!("{:02}:{:02}", s / 60, s % 60)
}

/// The timer of a call: talk time once answered, ringing time before.
fn timer(c: &CallInfo) -> String {
    let since = c.answered_at.unwrap_or(c.started_at);
    clock(SystemTime::now().duration_since(since).unwrap_or_default())
}

fn registration_line(r: &RegistrationInfo) -> String {
    format!("{} {}", r.aor, client_core::describe_registration(&r.state))
}

/// One line about a call, as `status` prints it and the view's table shows it.
fn call_line(view: &View, c: &CallInfo) -> String {
    let dir = match c.direction {
        CallDirection::Incoming => "in ",
        CallDirection::Outgoing => "out",
    };
    let codec = view.codecs.get(&c.id).map_or("-", String::as_str);
    let quality = view.quality.get(&c.id).map_or_else(
        || "-".to_owned(),
        |(loss, jitter, mos)| {
            let mos = mos.map_or_else(String::new, |m| format!(" MOS {m:.2}"));
            format!("{:.1}% loss {jitter:.1} ms{mos}", loss * 100.0)
        },
    );
    let flags = [(c.microphone_muted, " muted"), (c.remote_hold, " held-by-remote")]
        .iter()
        .filter(|(on, _)| *on)
        .map(|(_, f)| *f)
        .collect::<String>();
    format!("{} {dir} {} {} {} {codec} {quality}{flags}", c.id, c.remote_uri, c.state, timer(c))
}

/// A command of the line mode or a key of the view, carried out.
enum Action {
    Call(String),
    Answer(Option<CallId>),
    Reject(Option<CallId>, u16),
    Hangup(Option<CallId>),
    Hold(Option<CallId>),
    Resume(Option<CallId>),
    Mute(Option<CallId>, bool),
    Dtmf(Option<CallId>, String),
    Record(Option<CallId>, String),
    Transfer(Option<CallId>, String),
    /// An attended transfer: the first call's far end to the second call's.
    TransferTo(Option<CallId>, CallId),
}

/// The call a command means: the one named, else the only (or first) one that fits.
fn pick(client: &ClientManager, id: Option<CallId>, fits: impl Fn(&CallInfo) -> bool) -> Result<CallId, String> {
    if let Some(id) = id {
        return Ok(id);
    }
    client.list_calls().into_iter().find(|c| fits(c)).map(|c| c.id).ok_or_else(|| "no such call".to_owned())
}

async fn act(client: &ClientManager, from: &str, action: Action) -> Result<String, String> {
    let up = |c: &CallInfo| matches!(c.state, CallState::Active | CallState::OnHold);
    let e = |e: client_core::ClientError| e.to_string();
    match action {
        Action::Call(uri) => client.make_call(from, &uri).await.map(|id| format!("{id} calling {uri}")).map_err(e),
        Action::Answer(id) => {
            let id = pick(client, id, |c| c.state == CallState::Incoming)?;
            client.answer_call(id).await.map(|_| format!("{id} answering")).map_err(e)
        }
        Action::Reject(id, status) => {
            let id = pick(client, id, |c| c.state == CallState::Incoming)?;
            client.reject_call(id, status).await.map(|_| format!("{id} rejected with {status}")).map_err(e)
        }
        Action::Hangup(id) => {
            let id = pick(client, id, |_| true)?;
            client.hangup_call(id).await.map(|_| format!("{id} hanging up")).map_err(e)
        }
        Action::Hold(id) => {
            let id = pick(client, id, |c| c.state == CallState::Active)?;
            client.hold_call(id).await.map(|_| format!("{id} on hold")).map_err(e)
        }
        Action::Resume(id) => {
            let id = pick(client, id, |c| c.state == CallState::OnHold)?;
            client.resume_call(id).await.map(|_| format!("{id} resumed")).map_err(e)
        }
        Action::Mute(id, muted) => {
            let id = pick(client, id, up)?;
            client.set_microphone_mute(id, muted).await.map(|_| format!("{id} muted: {muted}")).map_err(e)
        }
        Action::Dtmf(id, digits) => {
            let id = pick(client, id, up)?;
            client.send_dtmf(id, &digits).await.map(|_| format!("{id} sending DTMF {digits}")).map_err(e)
        }
        Action::Record(id, path) => {
            let id = pick(client, id, up)?;
            client.start_recording(id, &path).await.map(|_| format!("{id} recording to {path}")).map_err(e)
        }
        Action::Transfer(id, target) => {
            let id = pick(client, id, up)?;
            client.transfer_call(id, &target).await.map(|_| format!("{id} transferring to {target}")).map_err(e)
        }
        Action::TransferTo(id, to) => {
            let id = pick(client, id, |c| up(c) && c.id != to)?;
            client
                .transfer_call_attended(id, to)
                .await
                .map(|_| format!("{id} transferring to the far end of {to}"))
                .map_err(e)
        }
    }
}

const HELP: &str = "commands: call URI | answer [N] | reject [N] [STATUS] | hangup [N] | hold [N] | resume [N] | mute [N] | unmute [N] | dtmf [N] DIGITS | record [N] FILE.wav | transfer [N] URI|M | status | quit";

/// A line of the line mode, as an action (`Ok(None)`: status; `Err`: what is wrong).
fn parse_line(line: &str) -> Result<Option<Action>, String> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    let id = |i: usize| -> Result<Option<CallId>, String> {
        match rest.get(i) {
            None => Ok(None),
            Some(w) => w
                .trim_start_matches("call-")
                .parse::<u64>()
                .map(|n| Some(CallId(n)))
                .map_err(|_| format!("'{w}' is not a call number")),
        }
    };
    Ok(Some(match verb {
        "call" => match rest.first() {
            Some(uri) => Action::Call((*uri).to_owned()),
            None => return Err("call needs a URI".into()),
        },
        "answer" => Action::Answer(id(0)?),
        "reject" => {
            let status = match rest.get(1) {
                Some(s) => s.parse().map_err(|_| format!("'{s}' is not a status"))?,
                None => 486,
            };
            Action::Reject(id(0)?, status)
        }
        "hangup" => Action::Hangup(id(0)?),
        "hold" => Action::Hold(id(0)?),
        "resume" => Action::Resume(id(0)?),
        "mute" => Action::Mute(id(0)?, true),
        "unmute" => Action::Mute(id(0)?, false),
        "dtmf" | "record" | "transfer" => {
            let (call, arg) = match rest.as_slice() {
                [arg] => (None, *arg),
                [_, arg] => (id(0)?, *arg),
                _ => return Err(format!("{verb} takes [N] and one argument")),
            };
            let other_call = arg.trim_start_matches("call-").parse::<u64>().ok().map(CallId);
            match (verb, other_call) {
                ("dtmf", _) => Action::Dtmf(call, arg.to_owned()),
                ("record", _) => Action::Record(call, arg.to_owned()),
                (_, Some(to)) => Action::TransferTo(call, to),
                _ => Action::Transfer(call, arg.to_owned()),
            }
        }
        "status" => return Ok(None),
        _ => return Err(format!("unknown command '{verb}' ({HELP})")),
    }))
}

/// The line mode: a command per line in, a line per event out; `quit` or the end of the
/// input stops it.
async fn lines(client: &Arc<ClientManager>, mut view: View, from: &str) -> ExitCode {
    use tokio::io::AsyncBufReadExt;
    let mut input = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    println!("agent ready on {} as {from}; {HELP}", client.local_address().map(|a| a.to_string()).unwrap_or_default());
    loop {
        tokio::select! {
            e = view.events.recv() => match e {
                Ok(e) => {
                    if let Some(line) = view.take(client, e).await {
                        println!("{line}");
                    }
                }
                Err(client_core::broadcast::error::RecvError::Lagged(n)) => println!("({n} events not shown)"),
                Err(client_core::broadcast::error::RecvError::Closed) => return ExitCode::from(1),
            },
            line = input.next_line() => {
                let line = match line {
                    Ok(Some(l)) => l,
                    Ok(None) => return ExitCode::SUCCESS,
                    Err(e) => {
                        println!("error: reading commands: {e}");
                        return ExitCode::from(1);
                    }
                };
                let line = line.trim();
                if line.is_empty() {
                    continue;
                }
                if line == "quit" {
                    return ExitCode::SUCCESS;
                }
                match parse_line(line) {
                    Ok(Some(action)) => match act(client, from, action).await {
                        Ok(done) => println!("ok: {done}"),
                        Err(why) => println!("error: {why}"),
                    },
                    Ok(None) => {
                        for r in client.get_all_registrations() {
                            println!("registration: {}", registration_line(&r));
                        }
                        let calls = client.list_calls();
                        println!("calls: {}", calls.len());
                        for c in calls {
                            println!("call: {}", call_line(&view, &c));
                        }
                    }
                    Err(why) => println!("error: {why}"),
                }
            }
        }
    }
}

/// The full-screen view.
mod tui {
    use super::*;
    use ratatui::crossterm::event::{Event, KeyCode, KeyEventKind};
    use ratatui::layout::{Constraint, Layout};
    use ratatui::style::{Modifier, Style};
    use ratatui::text::Line;
    use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, TableState};

    const SPINNER: [char; 4] = ['|', '/', '-', '\\'];

    /// What the keyboard is doing: acting on calls, or typing a URI to call.
    enum Input {
        Keys,
        Dialing(String),
        /// Typing the target to transfer a call to.
        Transferring(Option<CallId>, String),
    }

    pub(super) async fn run(client: &Arc<ClientManager>, mut view: View, from: &str) -> ExitCode {
        let mut terminal = ratatui::init();
        // Keys come from a thread of their own: crossterm's read blocks.
        let (keys_tx, mut keys) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            while let Ok(e) = ratatui::crossterm::event::read() {
                if keys_tx.send(e).is_err() {
                    break;
                }
            }
        });
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        let mut selected = TableState::default();
        let mut input = Input::Keys;
        let mut status = String::from("ready");
        let mut frame = 0usize;
        let code = loop {
            let calls = client.list_calls();
            if selected.selected().is_none_or(|i| i >= calls.len()) {
                selected.select(if calls.is_empty() { None } else { Some(calls.len() - 1) });
            }
            let regs = client.get_all_registrations();
            let spin = SPINNER[frame % SPINNER.len()];
            let addr = client.local_address().map(|a| a.to_string()).unwrap_or_default();
            let drawn = terminal.draw(|f| {
                let [top, middle, log, help] = Layout::vertical([
                    Constraint::Length(3 + regs.len().max(1) as u16),
                    Constraint::Min(5),
                    Constraint::Length(8),
                    Constraint::Length(3),
                ])
                .areas(f.area());
                let mut account = vec![Line::from(format!("{from}  listening on {addr}"))];
                if regs.is_empty() {
                    account.push(Line::from("no registration"));
                }
                for r in &regs {
                    let waiting = matches!(
                        r.state,
                        client_core::RegistrationState::Registering | client_core::RegistrationState::Refreshing { .. }
                    );
                    let mark = if waiting { format!("{spin} ") } else { String::new() };
                    account.push(Line::from(format!("{mark}{}", registration_line(r))));
                }
                f.render_widget(
                    Paragraph::new(account).block(Block::default().borders(Borders::ALL).title("Agent")),
                    top,
                );
                let rows = calls.iter().map(|c| {
                    let ringing = matches!(c.state, CallState::Incoming | CallState::Ringing | CallState::Initiating);
                    let state = if ringing { format!("{spin} {}", c.state) } else { c.state.to_string() };
                    let quality = view
                        .quality
                        .get(&c.id)
                        .map_or_else(|| "-".to_owned(), |(l, j, mos)| {
                            let mos = mos.map_or_else(String::new, |m| format!(" / MOS {m:.2}"));
                            format!("{:.1}% / {j:.1} ms{mos}", l * 100.0)
                        });
                    let flags = match (c.microphone_muted, c.remote_hold) {
                        (true, true) => "muted, held by remote",
                        (true, false) => "muted",
                        (false, true) => "held by remote",
                        (false, false) => "",
                    };
                    Row::new(vec![
                        c.id.to_string(),
                        match c.direction {
                            CallDirection::Incoming => "in".into(),
                            CallDirection::Outgoing => "out".into(),
                        },
                        c.remote_uri.clone(),
                        state,
                        timer(c),
                        view.codecs.get(&c.id).cloned().unwrap_or_else(|| "-".into()),
                        quality,
                        flags.to_owned(),
                    ])
                });
                let table = Table::new(
                    rows,
                    [
                        Constraint::Length(8),
                        Constraint::Length(4),
                        Constraint::Min(20),
                        Constraint::Length(13),
                        Constraint::Length(6),
                        Constraint::Length(10),
                        Constraint::Length(16),
                        Constraint::Length(22),
                    ],
                )
                .header(
                    Row::new(["call", "dir", "peer", "state", "time", "codec", "loss / jitter", ""])
                        .style(Style::default().add_modifier(Modifier::BOLD)),
                )
                .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
                .block(Block::default().borders(Borders::ALL).title(format!("Calls ({})", calls.len())));
                f.render_stateful_widget(table, middle, &mut selected);
                let shown = log.height.saturating_sub(2) as usize;
                let lines: Vec<Line> = view
                    .log
                    .iter()
                    .skip(view.log.len().saturating_sub(shown))
                    .map(|l| Line::from(l.as_str()))
                    .collect();
                f.render_widget(
                    Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title("Events")),
                    log,
                );
                let help_text = match &input {
                    Input::Keys => format!(
                        "[a]nswer [r]eject [h]ang up h[o]ld/resume [m]ute [0-9*#] DTMF [t]ransfer [c]all [up/down] select [q]uit   {status}"
                    ),
                    Input::Dialing(uri) => format!("call: {uri}_   (Enter to call, Esc to cancel)"),
                    Input::Transferring(_, uri) => format!("transfer to: {uri}_   (Enter to transfer, Esc to cancel)"),
                };
                f.render_widget(Paragraph::new(help_text).block(Block::default().borders(Borders::ALL)), help);
            });
            if drawn.is_err() {
                break ExitCode::from(1);
            }
            let chosen = selected.selected().and_then(|i| calls.get(i)).map(|c| c.id);
            tokio::select! {
                _ = tick.tick() => frame += 1,
                e = view.events.recv() => match e {
                    Ok(e) => { view.take(client, e).await; }
                    Err(client_core::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(client_core::broadcast::error::RecvError::Closed) => break ExitCode::from(1),
                },
                key = keys.recv() => {
                    let Some(Event::Key(key)) = key else { continue };
                    if key.kind != KeyEventKind::Press {
                        continue;
                    }
                    let action = match (&mut input, key.code) {
                        (Input::Dialing(uri), KeyCode::Char(ch)) => { uri.push(ch); None }
                        (Input::Dialing(uri), KeyCode::Backspace) => { uri.pop(); None }
                        (Input::Dialing(_), KeyCode::Esc) => { input = Input::Keys; None }
                        (Input::Dialing(uri), KeyCode::Enter) => {
                            let uri = std::mem::take(uri);
                            input = Input::Keys;
                            Some(Action::Call(uri))
                        }
                        (Input::Dialing(_), _) => None,
                        (Input::Transferring(_, uri), KeyCode::Char(ch)) => { uri.push(ch); None }
                        (Input::Transferring(_, uri), KeyCode::Backspace) => { uri.pop(); None }
                        (Input::Transferring(..), KeyCode::Esc) => { input = Input::Keys; None }
                        (Input::Transferring(call, uri), KeyCode::Enter) => {
                            let (call, uri) = (*call, std::mem::take(uri));
                            input = Input::Keys;
                            Some(Action::Transfer(call, uri))
                        }
                        (Input::Transferring(..), _) => None,
                        (Input::Keys, KeyCode::Char('t')) => { input = Input::Transferring(chosen, "sip:".into()); None }
                        (Input::Keys, KeyCode::Char('q')) => break ExitCode::SUCCESS,
                        (Input::Keys, KeyCode::Char('c')) => { input = Input::Dialing("sip:".into()); None }
                        (Input::Keys, KeyCode::Char('a')) => Some(Action::Answer(chosen)),
                        (Input::Keys, KeyCode::Char('r')) => Some(Action::Reject(chosen, 486)),
                        (Input::Keys, KeyCode::Char('h')) => Some(Action::Hangup(chosen)),
                        (Input::Keys, KeyCode::Char('o')) => {
                            let held = chosen.and_then(|id| client.get_call(id)).is_some_and(|c| c.state == CallState::OnHold);
                            Some(if held { Action::Resume(chosen) } else { Action::Hold(chosen) })
                        }
                        (Input::Keys, KeyCode::Char('m')) => {
                            let muted = chosen.and_then(|id| client.get_call(id)).is_some_and(|c| c.microphone_muted);
                            Some(Action::Mute(chosen, !muted))
                        }
                        (Input::Keys, KeyCode::Char(d @ ('0'..='9' | '*' | '#'))) => Some(Action::Dtmf(chosen, d.to_string())),
                        (Input::Keys, KeyCode::Up) => { selected.select_previous(); None }
                        (Input::Keys, KeyCode::Down) => { selected.select_next(); None }
                        _ => None,
                    };
                    if let Some(action) = action {
                        status = match act(client, from, action).await {
                            Ok(done) => done,
                            Err(why) => format!("error: {why}"),
                        };
                    }
                }
            }
        };
        ratatui::restore();
        code
    }
}
