//! TLS for users' connections (rustls on aws-lc-rs): the run's configuration
//! built once (the system's roots, `--ca`, `--insecure`, a client certificate,
//! ALPN by `--http`), and each user's own copy with its own session cache, so
//! a user that reconnects resumes and a new user does a full handshake.

use super::settings::{HttpMode, TlsSettings};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{ClientSessionMemoryCache, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// Sessions a user remembers (one per origin it talks to, a few at most).
const SESSIONS_PER_USER: usize = 8;

/// The run's TLS: one configuration, copied per user.
#[derive(Clone)]
pub struct TlsContext {
    base: Arc<ClientConfig>,
    /// Where the trusted roots came from, for messages.
    pub roots: String,
    pub insecure: bool,
}

impl TlsContext {
    /// The configuration of `settings`, offering the protocols `mode` allows.
    /// An error names the file or setting that is wrong.
    pub fn new(settings: &TlsSettings, mode: HttpMode) -> Result<TlsContext, String> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?;
        let (builder, roots) = if settings.insecure {
            let verifier = Arc::new(NoVerification(provider));
            (
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(verifier),
                "none (--insecure: certificates are not verified)".to_string(),
            )
        } else {
            let (store, roots) = root_store(&settings.ca)?;
            (builder.with_root_certificates(store), roots)
        };
        let mut config = match (&settings.client_cert, &settings.client_key) {
            (Some(cert), Some(key)) => {
                let chain = read_certs(cert, "--client-cert")?;
                let key = PrivateKeyDer::from_pem_file(key).map_err(|e| {
                    format!("--client-key {}: no private key read: {e}", key.display())
                })?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    format!("--client-cert and --client-key do not go together: {e}")
                })?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err("--client-cert and --client-key go together: give both".into()),
        };
        config.alpn_protocols = match mode {
            HttpMode::Auto => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            HttpMode::H1 => vec![b"http/1.1".to_vec()],
            HttpMode::H2 => vec![b"h2".to_vec()],
        };
        Ok(TlsContext {
            base: Arc::new(config),
            roots,
            insecure: settings.insecure,
        })
    }

    /// A user's own configuration: the run's, with a session cache of its own.
    pub fn for_user(&self) -> Arc<ClientConfig> {
        let mut config = (*self.base).clone();
        config.resumption =
            Resumption::store(Arc::new(ClientSessionMemoryCache::new(SESSIONS_PER_USER)));
        Arc::new(config)
    }

    /// The run's configuration (the shared pool's: one cache for every user).
    pub fn shared(&self) -> ClientConfig {
        (*self.base).clone()
    }

    /// The name a TLS connection to `host` presents (SNI) and verifies.
    pub fn server_name(host: &str) -> Result<ServerName<'static>, String> {
        ServerName::try_from(host.to_string()).map_err(|e| format!("'{host}' as a TLS name: {e}"))
    }
}

/// The system's roots (rustls-native-certs: the store `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` name, else the system's own), and each `--ca` file's.
fn root_store(extra: &[std::path::PathBuf]) -> Result<(RootCertStore, String), String> {
    let mut store = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _) = store.add_parsable_certificates(native.certs);
    let mut said = format!("the system's {added} roots");
    if std::env::var_os("SSL_CERT_FILE").is_some() || std::env::var_os("SSL_CERT_DIR").is_some() {
        said.push_str(" (from SSL_CERT_FILE/SSL_CERT_DIR)");
    }
    for file in extra {
        let certs = read_certs(file, "--ca")?;
        let (ok, bad) = store.add_parsable_certificates(certs);
        if ok == 0 {
            return Err(format!(
                "--ca {}: no usable CA certificate in it ({bad} refused)",
                file.display()
            ));
        }
        said.push_str(&format!(", {ok} from {}", file.display()));
    }
    Ok((store, said))
}

fn read_certs(file: &Path, flag: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(file)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            format!(
                "{flag} {}: cannot read PEM certificates: {e}",
                file.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!("{flag} {}: no certificate in it", file.display()));
    }
    Ok(certs)
}

/// `--insecure`: any certificate is taken; the handshake's signatures are
/// still checked, so the connection is TLS with an unverified peer.
#[derive(Debug)]
struct NoVerification(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Whether an I/O error is TLS's own (rustls's, inside it).
pub fn is_tls(e: &std::io::Error) -> bool {
    e.get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
}

/// A TLS failure for people: what was wrong, and the flag that would help.
pub fn explain(e: &std::io::Error) -> String {
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return e.to_string();
    };
    use rustls::CertificateError as C;
    match tls {
        rustls::Error::InvalidCertificate(c) => {
            let why = match c {
                C::UnknownIssuer => "its issuer is not a trusted root".to_string(),
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    "it is not valid for this host name".to_string()
                }
                C::Expired | C::ExpiredContext { .. } => "it has expired".to_string(),
                C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".to_string(),
                C::BadSignature => "its signature is bad".to_string(),
                C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
                    "it is a CA certificate (CA:TRUE) serving as the server's own; a self-signed \
                     certificate made without basicConstraints=CA:FALSE is one"
                        .to_string()
                }
                other => format!("{other:?}"),
            };
            format!(
                "the server's certificate was refused: {why} (trust its CA with --ca FILE, or skip verification with --insecure)"
            )
        }
        rustls::Error::AlertReceived(alert) => format!(
            "the server refused the handshake ({alert:?}){}",
            if matches!(
                alert,
                rustls::AlertDescription::CertificateRequired
                    | rustls::AlertDescription::BadCertificate
                    | rustls::AlertDescription::UnknownCA
            ) {
                ": it may want a client certificate (--client-cert FILE --client-key FILE)"
            } else {
                ""
            }
        ),
        other => format!("TLS: {other}"),
    }
}
