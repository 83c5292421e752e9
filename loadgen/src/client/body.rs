//! A request's body: none, bytes in memory (JSON, a form, raw), or a
//! multipart form whose files are streamed from disk as the request is
//! written (never loaded whole), with its length known up front.

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};
use std::io;
use std::path::PathBuf;
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// What a request carries.
#[derive(Clone, Debug, Default)]
pub enum Body {
    #[default]
    Empty,
    /// Bytes in memory, and their content type.
    Bytes {
        content_type: Option<String>,
        bytes: Vec<u8>,
    },
    Multipart(Multipart),
}

/// A `multipart/form-data` body: text fields and files.
#[derive(Clone, Debug)]
pub struct Multipart {
    boundary: String,
    /// In order: bytes (part heads, text fields, the closing line) and files.
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug)]
enum Piece {
    Bytes(Bytes),
    File { path: PathBuf, len: u64 },
}

/// How much of a file is read at once while it is sent.
const FILE_CHUNK: usize = 64 * 1024;

impl Multipart {
    pub fn new() -> Multipart {
        Multipart {
            boundary: format!("loadgen-{:016x}", rand::random::<u64>()),
            pieces: Vec::new(),
        }
    }

    /// A text field.
    pub fn text(mut self, name: &str, value: &str) -> Multipart {
        self.head(name, None, None);
        self.pieces
            .push(Piece::Bytes(Bytes::from(format!("{value}\r\n"))));
        self
    }

    /// A file field, streamed from `path` when the request is sent; its
    /// length is read now. An unreadable file is an error naming it.
    pub fn file(
        mut self,
        name: &str,
        path: impl Into<PathBuf>,
        content_type: &str,
    ) -> io::Result<Multipart> {
        let path = path.into();
        let len = std::fs::metadata(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?
            .len();
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "file".into());
        self.head(name, Some(&file_name), Some(content_type));
        self.pieces.push(Piece::File { path, len });
        self.pieces.push(Piece::Bytes(Bytes::from_static(b"\r\n")));
        Ok(self)
    }

    fn head(&mut self, name: &str, file_name: Option<&str>, content_type: Option<&str>) {
        let quote = |s: &str| s.replace(['"', '\r', '\n'], "_");
        let mut head = format!(
            "--{}\r\nContent-Disposition: form-data; name=\"{}\"",
            self.boundary,
            quote(name)
        );
        if let Some(f) = file_name {
            head.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        head.push_str("\r\n");
        if let Some(ct) = content_type {
            head.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        head.push_str("\r\n");
        self.pieces.push(Piece::Bytes(Bytes::from(head)));
    }

    fn closing(&self) -> Bytes {
        Bytes::from(format!("--{}--\r\n", self.boundary))
    }
}

impl Default for Multipart {
    fn default() -> Self {
        Multipart::new()
    }
}

impl Body {
    /// Its `Content-Type`, if it has one.
    pub fn content_type(&self) -> Option<String> {
        match self {
            Body::Empty => None,
            Body::Bytes { content_type, .. } => content_type.clone(),
            Body::Multipart(m) => Some(format!("multipart/form-data; boundary={}", m.boundary)),
        }
    }

    /// Its length in bytes (`Content-Length`); `None` for no body.
    pub fn len(&self) -> Option<u64> {
        match self {
            Body::Empty => None,
            Body::Bytes { bytes, .. } => Some(bytes.len() as u64),
            Body::Multipart(m) => Some(
                m.pieces
                    .iter()
                    .map(|p| match p {
                        Piece::Bytes(b) => b.len() as u64,
                        Piece::File { len, .. } => *len,
                    })
                    .sum::<u64>()
                    + m.closing().len() as u64,
            ),
        }
    }

    /// Whether there is no body at all.
    pub fn is_empty(&self) -> bool {
        self.len().is_none()
    }

    /// The bytes when they are all in memory (`None`: none, or streamed).
    pub fn in_memory(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes { bytes, .. } => Some(bytes),
            _ => None,
        }
    }

    /// Writes a streamed body (a multipart form) to `out`, files a chunk at a
    /// time; a file whose length changed since it was added is an error.
    pub async fn write_streamed<W: AsyncWrite + Unpin>(&self, out: &mut W) -> io::Result<()> {
        let mut chunks = std::pin::pin!(self.stream());
        while let Some(chunk) = chunks.next().await {
            out.write_all(&chunk?).await?;
        }
        Ok(())
    }

    /// The body as a stream of chunks (files read as they go).
    pub fn stream(&self) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
        let pieces: Vec<Piece> = match self {
            Body::Empty => vec![],
            Body::Bytes { bytes, .. } => vec![Piece::Bytes(Bytes::copy_from_slice(bytes))],
            Body::Multipart(m) => {
                let mut p = m.pieces.clone();
                p.push(Piece::Bytes(m.closing()));
                p
            }
        };
        stream::iter(pieces).flat_map(|piece| match piece {
            Piece::Bytes(b) => stream::once(async move { Ok(b) }).boxed(),
            Piece::File { path, len } => file_chunks(path, len).boxed(),
        })
    }
}

/// A file's bytes, `FILE_CHUNK` at a time, at most the `len` it was added with.
fn file_chunks(path: PathBuf, len: u64) -> impl Stream<Item = io::Result<Bytes>> + Send {
    use tokio::io::AsyncReadExt;
    let named = move |e: io::Error, path: &PathBuf| {
        io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    };
    stream::once(async move {
        let file = tokio::fs::File::open(&path)
            .await
            .map_err(|e| named(e, &path))?;
        Ok::<_, io::Error>((file, path))
    })
    .flat_map(move |opened| match opened {
        Ok((file, path)) => tokio_util::io::ReaderStream::with_capacity(file.take(len), FILE_CHUNK)
            .map(move |chunk| chunk.map_err(|e| named(e, &path)))
            .boxed(),
        Err(e) => stream::once(async move { Err(e) }).boxed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_multipart_form_streams_its_file_and_says_its_length() {
        let dir = std::env::temp_dir().join(format!("loadgen-body-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("data.csv");
        std::fs::write(&file, vec![b'x'; 150_000]).unwrap();
        let body = Body::Multipart(
            Multipart::new()
                .text("title", "report")
                .file("upload", &file, "text/csv")
                .unwrap(),
        );
        let mut out = Vec::new();
        body.write_streamed(&mut out).await.unwrap();
        assert_eq!(out.len() as u64, body.len().unwrap());
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains(
            "name=\"upload\"; filename=\"data.csv\"\r\nContent-Type: text/csv\r\n\r\nxxx"
        ));
        assert!(text.ends_with("--\r\n"));
        assert!(body
            .content_type()
            .unwrap()
            .starts_with("multipart/form-data; boundary=loadgen-"));
        assert!(Multipart::new()
            .file("f", dir.join("missing"), "a/b")
            .unwrap_err()
            .to_string()
            .contains("missing"));
    }
}
