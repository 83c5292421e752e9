//! How goose's users follow a steered run: goose's own telnet controller,
//! on a private loopback port, gets the rest of the plan as its new test plan
//! at the second each change applies from (goose ramps from the users it has).

use super::steer::Steer;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A free loopback port for goose's controller (bound and let go: goose
/// binds it a moment later).
pub fn free_loopback_port() -> Option<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    listener.local_addr().ok().map(|a| a.port())
}

/// Follows the live plan on a goose attack whose telnet controller listens
/// on `port`: at each change's second, goose gets the rest of the plan as its
/// new test plan (goose ramps from the users it has). Ends with the channel.
pub async fn follow_on_goose(mut steer: Steer, port: u16, start: Instant) {
    let mut followed = steer.rx.borrow().shape.clone();
    let mut controller: Option<TcpStream> = None;
    while steer.rx.changed().await.is_ok() {
        steer.rx.mark_changed();
        let Some((mut from, mut rest)) = steer.take_change(&mut followed) else {
            continue;
        };
        // A newer change before this one's second replaces it.
        loop {
            let at = start + Duration::from_secs(from);
            tokio::select! {
                _ = tokio::time::sleep_until(at.into()) => break,
                changed = steer.rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    steer.rx.mark_changed();
                    if let Some(next) = steer.take_change(&mut followed) {
                        (from, rest) = next;
                    }
                }
            }
        }
        if rest.total_secs() == 0 {
            // The plan ends here: the load's end stops goose's users.
            continue;
        }
        // Goose starts from the users it has: a step to where they are
        // already would never end, a jump elsewhere is made at once.
        let plan = super::goose::test_plan_from(&rest, steer.level_before(from));
        match tell_goose(&mut controller, port, &format!("test-plan {plan}")).await {
            Ok(reply) if reply.contains("configured") => {}
            Ok(reply) => eprintln!("loadgen: goose did not take the change ({plan}): {reply}"),
            Err(e) => {
                controller = None;
                eprintln!("loadgen: cannot reach goose's controller to change the users: {e}");
            }
        }
    }
}

/// Sends one telnet controller command and returns goose's reply (up to its
/// next prompt), connecting first if need be.
async fn tell_goose(
    controller: &mut Option<TcpStream>,
    port: u16,
    command: &str,
) -> std::io::Result<String> {
    const PROMPT: &str = "goose> ";
    let limit = Duration::from_secs(10);
    let timed = |what: &'static str| std::io::Error::new(std::io::ErrorKind::TimedOut, what);
    if controller.is_none() {
        let mut stream = tokio::time::timeout(limit, TcpStream::connect(("127.0.0.1", port)))
            .await
            .map_err(|_| timed("no answer to connect"))??;
        read_until_prompt(&mut stream, PROMPT, limit).await?;
        *controller = Some(stream);
    }
    let stream = controller.as_mut().expect("connected above");
    stream.write_all(format!("{command}\n").as_bytes()).await?;
    let reply = read_until_prompt(stream, PROMPT, limit).await?;
    Ok(reply.trim_end_matches(PROMPT).trim().to_string())
}

async fn read_until_prompt(
    stream: &mut TcpStream,
    prompt: &str,
    limit: Duration,
) -> std::io::Result<String> {
    let mut text = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !text.ends_with(prompt.as_bytes()) {
            let n = stream.read(&mut buf).await?;
            if n == 0 || text.len() > 64 * 1024 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "goose's controller hung up",
                ));
            }
            text.extend_from_slice(&buf[..n]);
        }
        Ok(())
    };
    tokio::time::timeout(limit, read)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no reply"))??;
    Ok(String::from_utf8_lossy(&text).into_owned())
}
