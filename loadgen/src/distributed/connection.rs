//! The one type that touches the protocol's bytes: length-prefixed frames
//! (u32 big-endian length, then a JSON message), with a size limit.

use super::protocol::{Message, MAX_FRAME};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection broke: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {len} bytes is over the {limit} byte limit")]
    TooLarge { len: usize, limit: usize },
    #[error("the peer closed the connection in the middle of a frame")]
    Truncated,
    #[error("malformed message: {0}")]
    Malformed(String),
}

pub struct FrameReader {
    inner: BufReader<OwnedReadHalf>,
}

pub struct FrameWriter {
    inner: OwnedWriteHalf,
}

pub fn split(stream: TcpStream) -> (FrameReader, FrameWriter) {
    let _ = stream.set_nodelay(true);
    let (r, w) = stream.into_split();
    (
        FrameReader {
            inner: BufReader::new(r),
        },
        FrameWriter { inner: w },
    )
}

impl FrameReader {
    /// The next message; `Ok(None)` on a clean end of stream between frames.
    pub async fn read(&mut self) -> Result<Option<Message>, FrameError> {
        self.read_limited(MAX_FRAME).await
    }

    /// The next message, refusing a frame over `limit` bytes from its length
    /// alone. The body is buffered as it arrives, so a peer that declares a
    /// large frame and sends little holds little memory.
    pub async fn read_limited(&mut self, limit: usize) -> Result<Option<Message>, FrameError> {
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            match self.inner.read(&mut len[got..]).await? {
                0 if got == 0 => return Ok(None),
                0 => return Err(FrameError::Truncated),
                n => got += n,
            }
        }
        let len = u32::from_be_bytes(len) as usize;
        if len > limit {
            return Err(FrameError::TooLarge { len, limit });
        }
        let mut body = Vec::with_capacity(len.min(64 * 1024));
        (&mut self.inner)
            .take(len as u64)
            .read_to_end(&mut body)
            .await?;
        if body.len() < len {
            return Err(FrameError::Truncated);
        }
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| FrameError::Malformed(e.to_string()))
    }
}

impl FrameWriter {
    pub async fn write(&mut self, message: &Message) -> Result<(), FrameError> {
        let body = serde_json::to_vec(message).map_err(|e| FrameError::Malformed(e.to_string()))?;
        if body.len() > MAX_FRAME {
            return Err(FrameError::TooLarge {
                len: body.len(),
                limit: MAX_FRAME,
            });
        }
        self.inner
            .write_all(&(body.len() as u32).to_be_bytes())
            .await?;
        self.inner.write_all(&body).await?;
        self.inner.flush().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    async fn pair() -> (TcpStream, TcpStream) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        (a, b)
    }

    #[tokio::test]
    async fn frames_round_trip_and_eof_is_clean() {
        let (a, b) = pair().await;
        let (_, mut w) = split(a);
        let (mut r, _) = split(b);
        w.write(&Message::Heartbeat).await.unwrap();
        w.write(&Message::Refused { reason: "x".into() })
            .await
            .unwrap();
        drop(w);
        assert_eq!(r.read().await.unwrap(), Some(Message::Heartbeat));
        assert_eq!(
            r.read().await.unwrap(),
            Some(Message::Refused { reason: "x".into() })
        );
        assert!(r.read().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_truncated_and_garbage_frames_are_errors() {
        for bytes in [
            ((MAX_FRAME as u32) + 1).to_be_bytes().to_vec(),
            vec![0, 0, 0, 10, b'{'],
            [vec![0, 0, 0, 3], b"abc".to_vec()].concat(),
            vec![0, 0],
        ] {
            let (mut a, b) = pair().await;
            a.write_all(&bytes).await.unwrap();
            drop(a);
            let (mut r, _) = split(b);
            assert!(r.read().await.is_err(), "{bytes:?}");
        }
    }

    #[tokio::test]
    async fn a_frame_over_the_limit_is_refused_before_its_body_arrives() {
        let (mut a, b) = pair().await;
        // The length alone: the body never comes.
        a.write_all(&5_000u32.to_be_bytes()).await.unwrap();
        let (mut r, _) = split(b);
        let read = tokio::time::timeout(std::time::Duration::from_secs(1), r.read_limited(4096));
        assert!(matches!(
            read.await,
            Ok(Err(FrameError::TooLarge {
                len: 5_000,
                limit: 4096
            }))
        ));
    }
}
