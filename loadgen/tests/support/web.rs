//! Real servers for the client tests: certificates made in the test (a CA, a
//! server certificate, a client certificate, by rcgen), and an HTTP server on a
//! free loopback port speaking HTTP/1.1 and HTTP/2 (hyper), over TLS (rustls,
//! ALPN as asked, client certificates when asked) or plain (h2c by prior
//! knowledge), counting what it saw: connections, full and resumed
//! handshakes, requests by HTTP version, the Host of each.

#![allow(dead_code)]

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A CA, a server certificate it signed (for `names`), and a client
/// certificate it signed; PEM files of the CA and the client's in `dir`.
pub struct Certs {
    pub dir: PathBuf,
    pub ca_file: PathBuf,
    pub client_cert_file: PathBuf,
    pub client_key_file: PathBuf,
    ca_der: CertificateDer<'static>,
    server_chain: Vec<CertificateDer<'static>>,
    server_key: Vec<u8>,
}

impl Certs {
    pub fn new(dir: &Path, names: &[&str]) -> Certs {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "loadgen test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let server_key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let server = CertificateParams::new(names)
            .unwrap()
            .signed_by(&server_key, &ca)
            .unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(vec!["loadgen-user".to_string()]).unwrap();
        client_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca).unwrap();
        let write = |name: &str, text: String| {
            let path = dir.join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        Certs {
            dir: dir.to_path_buf(),
            ca_file: write("ca.pem", ca.pem()),
            client_cert_file: write("client.pem", client.pem()),
            client_key_file: write("client-key.pem", client_key.serialize_pem()),
            ca_der: ca.der().clone(),
            server_chain: vec![server.der().clone()],
            server_key: server_key.serialize_der(),
        }
    }

    fn server_config(&self, alpn: &[&str], client_auth: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap();
        let builder = if client_auth {
            let mut roots = rustls::RootCertStore::empty();
            roots.add(self.ca_der.clone()).unwrap();
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .unwrap();
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key.clone()));
        let mut config = builder
            .with_single_cert(self.server_chain.clone(), key)
            .unwrap();
        config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
        config
    }
}

/// What a test server saw.
#[derive(Default)]
pub struct Seen {
    pub connections: AtomicU64,
    pub full_handshakes: AtomicU64,
    pub resumed_handshakes: AtomicU64,
    pub http1: AtomicU64,
    pub http2: AtomicU64,
    /// Requests by the Host (or :authority) they named.
    pub hosts: Mutex<BTreeMap<String, u64>>,
}

impl Seen {
    pub fn get(&self, c: &AtomicU64) -> u64 {
        c.load(Ordering::SeqCst)
    }

    pub fn requests(&self) -> u64 {
        self.get(&self.http1) + self.get(&self.http2)
    }
}

/// How a test server answers: status, headers and body for a request's
/// method, path (with query) and headers.
pub type Handler = Arc<
    dyn Fn(&str, &str, &http::HeaderMap, &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>)
        + Send
        + Sync,
>;

/// A plain handler: 200, the path as the body.
pub fn echo_path() -> Handler {
    Arc::new(|_, path, _, _| (200, vec![], path.as_bytes().to_vec()))
}

pub struct Web {
    pub url: String,
    pub port: u16,
    pub seen: Arc<Seen>,
}

/// How a test server listens.
pub struct Listen<'a> {
    /// TLS with these certificates (else plain TCP, HTTP/1.1 or h2c).
    pub tls: Option<&'a Certs>,
    /// ALPN protocols offered, in order (`h2`, `http/1.1`).
    pub alpn: &'a [&'a str],
    pub client_auth: bool,
    /// The URL's host (`localhost`, `127.0.0.1`).
    pub host: &'a str,
}

impl Web {
    /// Serves `handler` from a thread of its own until the test process ends.
    pub fn start(listen: Listen<'_>, handler: Handler) -> Web {
        let acceptor = listen.tls.map(|certs| {
            tokio_rustls::TlsAcceptor::from(Arc::new(
                certs.server_config(listen.alpn, listen.client_auth),
            ))
        });
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        std_listener.set_nonblocking(true).unwrap();
        let port = std_listener.local_addr().unwrap().port();
        let scheme = if acceptor.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}:{port}", listen.host);
        let seen = Arc::new(Seen::default());
        let counted = seen.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
                loop {
                    let Ok((tcp, _)) = listener.accept().await else {
                        continue;
                    };
                    counted.connections.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, seen, handler) =
                        (acceptor.clone(), counted.clone(), handler.clone());
                    tokio::spawn(async move {
                        match acceptor {
                            Some(acceptor) => {
                                let Ok(tls) = acceptor.accept(tcp).await else {
                                    return;
                                };
                                let resumed = tls.get_ref().1.handshake_kind()
                                    == Some(rustls::HandshakeKind::Resumed);
                                let c = if resumed {
                                    &seen.resumed_handshakes
                                } else {
                                    &seen.full_handshakes
                                };
                                c.fetch_add(1, Ordering::SeqCst);
                                serve(TokioIo::new(tls), seen, handler).await;
                            }
                            None => serve(TokioIo::new(tcp), seen, handler).await,
                        }
                    });
                }
            });
        });
        Web { url, port, seen }
    }
}

async fn serve<I>(io: I, seen: Arc<Seen>, handler: Handler)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |req: hyper::Request<Incoming>| {
        let (seen, handler) = (seen.clone(), handler.clone());
        async move {
            let counter = if req.version() == http::Version::HTTP_2 {
                &seen.http2
            } else {
                &seen.http1
            };
            counter.fetch_add(1, Ordering::SeqCst);
            let host = req
                .uri()
                .authority()
                .map(|a| a.to_string())
                .or_else(|| {
                    req.headers()
                        .get("host")
                        .and_then(|h| h.to_str().ok())
                        .map(str::to_string)
                })
                .unwrap_or_default();
            *seen.hosts.lock().unwrap().entry(host).or_default() += 1;
            let path = req
                .uri()
                .path_and_query()
                .map_or("/".to_string(), |p| p.to_string());
            let (parts, incoming) = req.into_parts();
            let sent = http_body_util::BodyExt::collect(incoming)
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let (status, headers, body) =
                handler(parts.method.as_str(), &path, &parts.headers, &sent);
            let mut response = hyper::Response::builder().status(status);
            for (k, v) in headers {
                response = response.header(k, v);
            }
            Ok::<_, std::convert::Infallible>(response.body(Full::new(Bytes::from(body))).unwrap())
        }
    });
    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
        .serve_connection(io, service)
        .await;
}
