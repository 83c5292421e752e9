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
    #[error("frame of {0} bytes is over the {MAX_FRAME} byte limit")]
    TooLarge(usize),
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
        if len > MAX_FRAME {
            return Err(FrameError::TooLarge(len));
        }
        let mut body = vec![0u8; len];
        self.inner
            .read_exact(&mut body)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => FrameError::Truncated,
                _ => FrameError::Io(e),
            })?;
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| FrameError::Malformed(e.to_string()))
    }
}

impl FrameWriter {
    pub async fn write(&mut self, message: &Message) -> Result<(), FrameError> {
        let body = serde_json::to_vec(message).map_err(|e| FrameError::Malformed(e.to_string()))?;
        if body.len() > MAX_FRAME {
            return Err(FrameError::TooLarge(body.len()));
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
}
