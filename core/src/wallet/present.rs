//! Showing a QR: the wallet's side of `present` (docs/adr/0010).
//!
//! Offline: the next unused single-use credential of the profile, signed with its own device
//! key over the current time and the verifier's nonce; the citizen confirms with the passcode
//! or biometric. Online: a one-minute token signed with the account's device key, registered
//! at the backend with the citizen's consent (passcode, docs/adr/0017), which the verifier
//! redeems there. Either way the presentation goes into the log.

use super::{DEVICE_KEY_ALIAS, Result, Wallet, WalletError};
use crate::account::passcode::Passcode;
use crate::api::{
    B64, consent_action, consented_profile, presentation_credentials_digest, token_digest,
};
use crate::credential::Document;
use crate::present::payload::{PRESENTATION_LIFETIME, TOKEN_LIFETIME, raw_signature};
use crate::present::{
    Disclosed, PresentError, Presentation, PresentationCredential, Profile, QrImage, Token,
    presentation_credential,
};
use crate::transactions::{Outcome, Transaction, TransactionKind};

/// How the citizen confirmed.
pub enum Consent<'a> {
    Passcode(&'a Passcode),
    /// The key store's unwrap shows the platform's biometric prompt.
    Biometric,
}

/// A QR ready to show.
#[derive(Debug, Clone)]
pub struct PresentationOut {
    pub profile: Profile,
    pub text: String,
    pub qr: QrImage,
    /// Bytes before base45.
    pub payload_bytes: usize,
    /// Unix seconds after which verifiers refuse it.
    pub expires_at: u64,
    /// What it discloses (offline) or will disclose on redemption (online).
    pub fields: Disclosed,
    /// No unused credential was left: an already shown one was used again (two presentations
    /// can then be linked). Sync to get a new batch.
    pub reused: bool,
    pub online: bool,
}

/// Credentials left per profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresentationStock {
    pub profile: Profile,
    pub unused: u64,
}

/// A stored credential chosen to show: key alias, bytes, whether it was shown before, and
/// what it says.
struct Chosen {
    alias: String,
    bytes: Vec<u8>,
    reused: bool,
    credential: PresentationCredential,
}

fn alias_for(profile: Profile) -> Result<String> {
    super::batch::random_alias(&format!("eid.present.{}", profile.as_str()))
}

/// A profile is refilled at sync when fewer unused credentials than this are left.
pub const PRESENTATION_LOW_WATER: u64 = 3;
/// Credentials asked for per refill.
pub const PRESENTATION_BATCH: usize = 8;

impl Wallet {
    /// Asks the backend for a batch of each profile that runs low (and whose source document the
    /// wallet holds), each batch with the citizen's consent (docs/adr/0017): without the
    /// passcode nothing is asked for. Slots left empty by an earlier failed request are dropped
    /// first.
    pub(super) async fn refill_presentations(
        &self,
        client: &crate::client::BackendClient,
        passcode: Option<&Passcode>,
    ) -> Result<usize> {
        let kinds: Vec<_> = self
            .verified_documents()?
            .iter()
            .map(Document::kind)
            .collect();
        // The holder's profiles, then each dependant's whose source document it holds
        // (docs/adr/0055), in slots of their own (`profile~dependant`).
        let mut targets: Vec<(Profile, Option<String>, bool)> = Profile::ALL
            .into_iter()
            .map(|p| (p, None, kinds.contains(&p.source())))
            .collect();
        let dependant_docs = self.dependant_documents()?;
        for d in self.dependants()? {
            for p in Profile::ALL {
                let holds = dependant_docs.iter().any(|i| {
                    i.kind == p.source() && i.dependant.as_ref().is_some_and(|x| x.id == d.id)
                });
                if holds {
                    targets.push((p, Some(d.id.clone()), true));
                }
            }
        }
        let mut low = Vec::new();
        for (profile, dependant, holds) in targets {
            let slot = consented_profile(profile.as_str(), dependant.as_deref());
            let empty: Vec<String> = self
                .store
                .presentation_slots(&slot)
                .map_err(WalletError::from_store)?
                .into_iter()
                .filter(|s| s.credential.is_none())
                .map(|s| s.alias)
                .collect();
            self.drop_slots(&empty)?;
            if holds
                && self
                    .store
                    .unused_presentations(&slot)
                    .map_err(WalletError::from_store)?
                    < PRESENTATION_LOW_WATER
            {
                low.push((profile, dependant, slot));
            }
        }
        if low.is_empty() {
            return Ok(0);
        }
        let passcode = passcode.ok_or(WalletError::InvalidInput(
            "new presentation credentials need the citizen's passcode".into(),
        ))?;
        self.unlock(passcode)?;
        let signer = self.request_signer()?;
        let mut stored = 0;
        for (profile, dependant, slot) in low {
            let (aliases, public): (Vec<String>, Vec<Vec<u8>>) = self
                .new_slot_keys(profile, &slot, PRESENTATION_BATCH)?
                .into_iter()
                .unzip();
            let keys: Vec<B64> = public.iter().cloned().map(B64).collect();
            let result = async {
                let proof = self
                    .remote_consent(
                        client,
                        passcode,
                        consent_action::PRESENTATION_CREDENTIALS,
                        &presentation_credentials_digest(&slot, &keys),
                    )
                    .await?;
                Ok(client
                    .presentation_credentials_of(
                        &signer,
                        profile.as_str(),
                        dependant.as_deref(),
                        &public,
                        proof,
                    )
                    .await?)
            }
            .await;
            self.log_consented(
                TransactionKind::Account,
                "backend",
                &format!(
                    "presentation credentials: {}{}",
                    profile.as_str(),
                    if dependant.is_some() {
                        " (a dependant's)"
                    } else {
                        ""
                    }
                ),
                vec![],
                &result,
                None,
            )?;
            match result {
                Ok(creds) => {
                    stored += self.import_presentation_credentials(profile, &aliases, &creds)?
                }
                Err(e) => {
                    self.drop_slots(&aliases)?;
                    return Err(e);
                }
            }
        }
        Ok(stored)
    }

    /// Drops empty or stale presentation slots with their device keys.
    pub(super) fn drop_slots(&self, aliases: &[String]) -> Result<()> {
        for a in aliases {
            // A key already gone is fine: the slot goes either way.
            let _ = self.keys.delete(a);
        }
        self.store
            .delete_presentation_slots(aliases)
            .map_err(WalletError::from_store)
    }

    pub(super) fn confirm(&self, consent: Consent<'_>) -> Result<()> {
        match consent {
            Consent::Passcode(p) => self.unlock(p),
            Consent::Biometric => self.unlock_with_biometric(),
        }
    }

    pub(super) fn verified_documents(&self) -> Result<Vec<Document>> {
        Ok(self
            .documents()?
            .into_iter()
            .filter_map(|info| self.document(&info.id).ok().map(|(_, v)| v.document))
            .collect())
    }

    /// What `profile` would disclose, for the consent screen.
    pub fn preview(&self, profile: Profile) -> Result<Disclosed> {
        if let Some(c) = self.next_credential(profile, profile.as_str(), false)? {
            return Ok(c.credential.fields);
        }
        Ok(profile.extract(&self.verified_documents()?, self.now())?)
    }

    /// Creates `n` fresh device keys for `profile` credentials; returns (alias, public key)
    /// pairs to send to the issuer.
    pub fn new_presentation_keys(
        &self,
        profile: Profile,
        n: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        self.new_slot_keys(profile, profile.as_str(), n)
    }

    /// [`Wallet::new_presentation_keys`] for the slots named `slot` (the profile, or
    /// `profile~dependant`).
    fn new_slot_keys(
        &self,
        profile: Profile,
        slot: &str,
        n: usize,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        if !self.is_unlocked() {
            return Err(WalletError::Locked);
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let alias = alias_for(profile)?;
            let pk = self.keys.create_signing_key(&alias)?;
            out.push((alias, pk));
        }
        let aliases: Vec<String> = out.iter().map(|(a, _)| a.clone()).collect();
        self.store
            .add_presentation_slots(slot, &aliases)
            .map_err(WalletError::from_store)?;
        Ok(out)
    }

    /// Stores the issuer's answer for keys made by [`Wallet::new_presentation_keys`], in the
    /// same order. Each credential must verify, be of the slot's profile and bound to the
    /// slot's key; otherwise nothing is stored.
    pub fn import_presentation_credentials(
        &self,
        profile: Profile,
        aliases: &[String],
        credentials: &[Vec<u8>],
    ) -> Result<usize> {
        if aliases.len() != credentials.len() {
            return Err(WalletError::InvalidInput(
                "one credential per key expected".into(),
            ));
        }
        let trust = self.trust_list()?;
        let now = self.now();
        let mut items = Vec::with_capacity(aliases.len());
        for (alias, bytes) in aliases.iter().zip(credentials) {
            let c = presentation_credential::verify(bytes, &trust, now)?;
            let key = self
                .keys
                .public_key(alias)?
                .ok_or(WalletError::InvalidInput("unknown presentation key".into()))?;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&key)
                .map_err(|_| WalletError::Corrupt("presentation key"))?
                .to_sec1_point(false);
            if c.profile != profile || key.as_bytes() != c.device_key.as_slice() {
                return Err(
                    PresentError::Malformed("credential for another key or profile").into(),
                );
            }
            items.push((alias.clone(), bytes.clone()));
        }
        self.store
            .fill_presentation_slots(&items)
            .map_err(WalletError::from_store)?;
        Ok(items.len())
    }

    /// Unused credentials left per profile.
    pub fn presentation_stock(&self) -> Result<Vec<PresentationStock>> {
        Profile::ALL
            .into_iter()
            .map(|profile| {
                Ok(PresentationStock {
                    profile,
                    unused: self
                        .store
                        .unused_presentations(profile.as_str())
                        .map_err(WalletError::from_store)?,
                })
            })
            .collect()
    }

    /// The next credential to show: the oldest unused valid one, else (`allow_reuse`) the
    /// least recently shown valid one. Expired and unverifiable slots are dropped.
    fn next_credential(
        &self,
        profile: Profile,
        slot: &str,
        allow_reuse: bool,
    ) -> Result<Option<Chosen>> {
        let slots = self
            .store
            .presentation_slots(slot)
            .map_err(WalletError::from_store)?;
        if slots.is_empty() {
            // Never synced (no trust list yet either): nothing to show, which is not corruption.
            return Ok(None);
        }
        let trust = self.trust_list()?;
        let now = self.now();
        let mut stale = Vec::new();
        let mut unused = None;
        let mut reusable: Option<(i64, Chosen)> = None;
        for s in slots {
            let Some(bytes) = s.credential else { continue };
            match presentation_credential::verify(&bytes, &trust, now) {
                Ok(c) if c.profile != profile => stale.push(s.alias),
                Ok(c) => match s.used_at_ms {
                    None if unused.is_none() => {
                        unused = Some(Chosen {
                            alias: s.alias,
                            bytes,
                            reused: false,
                            credential: c,
                        })
                    }
                    None => {}
                    Some(at) if reusable.as_ref().is_none_or(|(t, _)| at < *t) => {
                        reusable = Some((
                            at,
                            Chosen {
                                alias: s.alias,
                                bytes,
                                reused: true,
                                credential: c,
                            },
                        ));
                    }
                    Some(_) => {}
                },
                Err(PresentError::CredentialExpired) => stale.push(s.alias),
                Err(_) => {}
            }
        }
        if !stale.is_empty() {
            self.drop_slots(&stale)?;
        }
        Ok(unused.or(if allow_reuse {
            reusable.map(|(_, c)| c)
        } else {
            None
        }))
    }

    fn log_presentation(
        &self,
        profile: Profile,
        counterparty: &str,
        fields: &Disclosed,
        detail: &str,
    ) -> Result<()> {
        self.record(&Transaction {
            at_ms: self.clock.wall_ms(),
            kind: TransactionKind::Presentation,
            counterparty: counterparty.to_owned(),
            profile: profile.as_str().to_owned(),
            fields: fields.0.iter().map(|(f, _)| f.name().to_owned()).collect(),
            outcome: Outcome::Success,
            detail: Some(detail.to_owned()),
        })
    }

    /// An offline QR for `profile`, bound to the verifier's `nonce` when it showed one.
    pub fn present(
        &self,
        profile: Profile,
        nonce: Option<&[u8]>,
        consent: Consent<'_>,
        counterparty: &str,
    ) -> Result<PresentationOut> {
        self.present_of(profile, None, nonce, consent, counterparty)
    }

    /// An offline QR for `profile` of the holder's own documents (`dependant` `None`) or,
    /// chosen explicitly, of the dependant `dependant`'s ([`crate::api::Dependant::id`],
    /// docs/adr/0055): the child's fields from the child's documents, the log naming the child.
    pub fn present_of(
        &self,
        profile: Profile,
        dependant: Option<&str>,
        nonce: Option<&[u8]>,
        consent: Consent<'_>,
        counterparty: &str,
    ) -> Result<PresentationOut> {
        self.confirm(consent)?;
        let child = match dependant {
            None => None,
            Some(id) => Some(self.dependants()?.into_iter().find(|d| d.id == id).ok_or(
                WalletError::InvalidInput("the wallet holds no documents of this dependant".into()),
            )?),
        };
        let slot = consented_profile(profile.as_str(), dependant);
        let Chosen {
            alias,
            bytes,
            reused,
            credential: c,
        } = self
            .next_credential(profile, &slot, true)?
            .ok_or(PresentError::NoCredential)?;
        let created_at = self.now();
        let input = Presentation::signing_input(&bytes, created_at, nonce);
        let signature = raw_signature(&self.keys.sign(&alias, &input)?)?;
        let p = Presentation {
            credential: bytes,
            created_at,
            nonce: nonce.map(<[u8]>::to_vec),
            signature,
        };
        let payload_bytes = p.encode().len();
        let text = p.to_text();
        let qr = QrImage::encode(&text)?;
        self.store
            .mark_presentation_used(&alias, self.clock.wall_ms())
            .map_err(WalletError::from_store)?;
        let how = if reused {
            "offline QR (credential reused)"
        } else {
            "offline QR"
        };
        let detail = match &child {
            // The log is sealed like the documents: it may name the child.
            Some(d) => format!("{how}, a dependant's documents: {}", d.name),
            None => how.to_owned(),
        };
        self.log_presentation(profile, counterparty, &c.fields, &detail)?;
        Ok(PresentationOut {
            profile,
            text,
            qr,
            payload_bytes,
            expires_at: created_at + PRESENTATION_LIFETIME,
            fields: c.fields,
            reused,
            online: false,
        })
    }

    /// An online token for `profile`: the verifier redeems it once at the backend within a
    /// minute and gets the fields from there. The backend redeems only tokens registered with
    /// the citizen's consent (docs/adr/0017), so this needs the backend and the passcode
    /// (biometric unlock cannot prove the passcode to the backend).
    pub async fn present_online(
        &self,
        client: &crate::client::BackendClient,
        profile: Profile,
        passcode: &Passcode,
        counterparty: &str,
    ) -> Result<PresentationOut> {
        self.unlock(passcode)?;
        let result = self
            .present_online_inner(client, profile, passcode, counterparty)
            .await;
        // A success was logged with the fields disclosed; a refusal is logged here.
        if result.is_err() {
            self.log_consented(
                TransactionKind::Presentation,
                counterparty,
                profile.as_str(),
                vec![],
                &result,
                None,
            )?;
        }
        result
    }

    /// Registers an online token of this wallet (`VNT2:` text signed with the device key) at the
    /// backend with the citizen's consent; the backend redeems only registered tokens.
    /// [`Wallet::present_online`] does this itself; load tools that mint tokens call it.
    pub async fn register_online_token(
        &self,
        client: &crate::client::BackendClient,
        token_text: &str,
        passcode: &Passcode,
    ) -> Result<()> {
        let proof = self
            .remote_consent(
                client,
                passcode,
                consent_action::PRESENTATION_TOKEN,
                &token_digest(token_text),
            )
            .await?;
        let signer = self.request_signer()?;
        client.register_token(&signer, token_text, proof).await?;
        Ok(())
    }

    async fn present_online_inner(
        &self,
        client: &crate::client::BackendClient,
        profile: Profile,
        passcode: &Passcode,
        counterparty: &str,
    ) -> Result<PresentationOut> {
        // The token does not name the account (the backend finds it from the registration),
        // but only an activated wallet can register one.
        self.account_id()?.ok_or(WalletError::InvalidInput(
            "online presentation needs an activated wallet".into(),
        ))?;
        let fields = profile.extract(&self.verified_documents()?, self.now())?;
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|_| WalletError::Present(PresentError::Signing))?;
        let expires_at = self.now() + TOKEN_LIFETIME;
        let input = Token::signing_input(&id, profile, expires_at);
        let signature = raw_signature(&self.keys.sign(DEVICE_KEY_ALIAS, &input)?)?;
        let t = Token {
            id,
            profile,
            expires_at,
            signature,
        };
        let payload_bytes = t.encode().len();
        let text = t.to_text();
        let qr = QrImage::encode(&text)?;
        // Registered with the citizen's consent before it is shown.
        self.register_online_token(client, &text, passcode).await?;
        self.log_presentation(profile, counterparty, &fields, "online token")?;
        Ok(PresentationOut {
            profile,
            text,
            qr,
            payload_bytes,
            expires_at,
            fields,
            reused: false,
            online: true,
        })
    }
}
