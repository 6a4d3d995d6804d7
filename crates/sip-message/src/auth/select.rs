//! Choosing which of several challenges to answer.
//!
//! A 401/407 may carry several challenges for the same realm, one per
//! algorithm (RFC 8760 §2.4, RFC 7616 §3.7), and a 407 may carry challenges
//! of several proxies, each with its own realm (RFC 3261 §22.3).

use super::challenge::Challenge;
use super::credentials::Credentials;
use super::error::AuthError;
use super::qop::QopPreference;

/// Score of answering `c`, or `None` if it cannot be answered: the algorithm
/// strength first, then how well the offered qop fits the preference.
fn score(c: &Challenge, preference: QopPreference, credentials: Option<&Credentials>) -> Option<(u8, u8)> {
    if !c.algorithm.is_supported() || credentials.is_some_and(|cr| !cr.accepts(&c.algorithm)) {
        return None;
    }
    let qop = preference.choose(&c.qop).ok()?;
    Some((c.algorithm.strength(), preference.rank(qop.as_ref())))
}

/// Chooses the best challenge to answer: the strongest supported algorithm,
/// then qop `auth` over `auth-int` over none (or `auth-int` first with
/// [`QopPreference::AuthInt`]). On a tie the earlier challenge wins, since
/// servers list challenges in their order of preference (RFC 7616 §3.7).
///
/// This ignores realms; with challenges from several realms use
/// [`select_per_realm`].
///
/// Errors: [`AuthError::NoChallenge`] for an empty slice;
/// [`AuthError::UnsupportedAlgorithm`] when no challenge has a supported
/// algorithm (naming the first token seen); [`AuthError::UnsupportedQop`]
/// when those that do offer only unknown qop values.
pub fn select(challenges: &[Challenge], preference: QopPreference) -> Result<&Challenge, AuthError> {
    pick(challenges.iter(), preference, None)
}

/// [`select`] over any re-iterable sequence of challenges, skipping the algorithms
/// `credentials` refuse.
fn pick<'a, I>(
    challenges: I,
    preference: QopPreference,
    credentials: Option<&Credentials>,
) -> Result<&'a Challenge, AuthError>
where
    I: Iterator<Item = &'a Challenge> + Clone,
{
    let mut best: Option<(&Challenge, (u8, u8))> = None;
    for c in challenges.clone() {
        if let Some(s) = score(c, preference, credentials) {
            // Strictly greater: the first of equals is kept.
            if best.is_none_or(|(_, b)| s > b) {
                best = Some((c, s));
            }
        }
    }
    if let Some((c, _)) = best {
        return Ok(c);
    }
    let mut all = challenges;
    let first = all.clone().next().ok_or(AuthError::NoChallenge)?;
    let refused =
        |c: &&Challenge| c.algorithm.is_supported() && credentials.is_some_and(|cr| !cr.accepts(&c.algorithm));
    if let Some(r) = all.clone().find(refused) {
        if !all.clone().any(|c| c.algorithm.is_supported() && !refused(&c)) {
            return Err(AuthError::AlgorithmRefused { token: r.algorithm.as_str().to_owned() });
        }
    }
    if all.any(|c| c.algorithm.is_supported()) {
        Err(AuthError::UnsupportedQop)
    } else {
        Err(AuthError::UnsupportedAlgorithm { token: first.algorithm.as_str().to_owned() })
    }
}

/// Chooses one challenge per realm, in the order the realms first appear,
/// as a UAC must answer every realm that challenged it (RFC 3261 §22.3).
///
/// Fails as [`select`] does if any realm has no challenge that can be
/// answered, since the request would be refused again anyway.
pub fn select_per_realm(challenges: &[Challenge], preference: QopPreference) -> Result<Vec<&Challenge>, AuthError> {
    per_realm(challenges, preference, None)
}

/// [`select_per_realm`] for `credentials`: the algorithms they refuse
/// ([`Credentials::without_md5`]) are never chosen, and a realm that offers
/// nothing else fails with [`AuthError::AlgorithmRefused`].
pub fn select_per_realm_for<'a>(
    challenges: &'a [Challenge],
    preference: QopPreference,
    credentials: &Credentials,
) -> Result<Vec<&'a Challenge>, AuthError> {
    per_realm(challenges, preference, Some(credentials))
}

fn per_realm<'a>(
    challenges: &'a [Challenge],
    preference: QopPreference,
    credentials: Option<&Credentials>,
) -> Result<Vec<&'a Challenge>, AuthError> {
    if challenges.is_empty() {
        return Err(AuthError::NoChallenge);
    }
    let mut chosen: Vec<&Challenge> = Vec::new();
    for (i, c) in challenges.iter().enumerate() {
        // Realms are quoted-strings, compared exactly; the first occurrence
        // of a realm triggers the choice among all of its challenges.
        if challenges[..i].iter().any(|p| p.realm == c.realm) {
            continue;
        }
        let same_realm = challenges[i..].iter().filter(|o| o.realm == c.realm);
        chosen.push(pick(same_realm, preference, credentials)?);
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::{Algorithm, Qop};

    fn ch(realm: &str, alg: Algorithm, qop: &[Qop]) -> Challenge {
        let mut c = Challenge::new(realm, "n");
        c.algorithm = alg;
        c.qop = qop.to_vec();
        c
    }

    #[test]
    fn strongest_algorithm_wins() {
        let list = [
            ch("r", Algorithm::Md5, &[Qop::Auth]),
            ch("r", Algorithm::Sha256, &[Qop::Auth]),
            ch("r", Algorithm::Other("SHA3".into()), &[Qop::Auth]),
        ];
        let best = select(&list, QopPreference::Auth).unwrap();
        assert_eq!(best.algorithm, Algorithm::Sha256);
    }

    #[test]
    fn qop_breaks_ties_then_order() {
        let list = [
            ch("r", Algorithm::Sha256, &[]),
            ch("r", Algorithm::Sha256, &[Qop::AuthInt]),
            ch("r", Algorithm::Sha256, &[Qop::Auth]),
            ch("r", Algorithm::Sha256Sess, &[Qop::Auth]),
        ];
        assert!(std::ptr::eq(select(&list, QopPreference::Auth).unwrap(), &list[2]));
        assert!(std::ptr::eq(select(&list, QopPreference::AuthInt).unwrap(), &list[1]));
        assert!(std::ptr::eq(select(&list[..1], QopPreference::Auth).unwrap(), &list[0]));
    }

    #[test]
    fn errors() {
        assert_eq!(select(&[], QopPreference::Auth), Err(AuthError::NoChallenge));
        assert_eq!(
            select(&[ch("r", Algorithm::Other("SHA3-256".into()), &[Qop::Auth])], QopPreference::Auth),
            Err(AuthError::UnsupportedAlgorithm { token: "SHA3-256".into() })
        );
        assert_eq!(
            select(&[ch("r", Algorithm::Md5, &[Qop::Other("x".into())])], QopPreference::Auth),
            Err(AuthError::UnsupportedQop)
        );
    }

    #[test]
    fn one_per_realm() {
        let list = [
            ch("a", Algorithm::Md5, &[Qop::Auth]),
            ch("b", Algorithm::Md5, &[Qop::Auth]),
            ch("a", Algorithm::Sha256, &[Qop::Auth]),
        ];
        let picks = select_per_realm(&list, QopPreference::Auth).unwrap();
        assert_eq!(picks.len(), 2);
        assert!(std::ptr::eq(picks[0], &list[2]));
        assert!(std::ptr::eq(picks[1], &list[1]));
    }

    #[test]
    fn credentials_without_md5_take_the_stronger_challenge_or_refuse() {
        let strict = Credentials::new("bob", "zanzibar").without_md5();
        let both = [
            ch("r", Algorithm::Md5, &[Qop::Auth]),
            ch("r", Algorithm::Md5Sess, &[Qop::Auth]),
            ch("r", Algorithm::Sha256, &[Qop::Auth]),
        ];
        let chosen = select_per_realm_for(&both, QopPreference::Auth, &strict).unwrap();
        assert_eq!(chosen[0].algorithm, Algorithm::Sha256);

        let md5_only = [ch("r", Algorithm::Md5, &[Qop::Auth]), ch("r", Algorithm::Md5Sess, &[Qop::Auth])];
        assert_eq!(
            select_per_realm_for(&md5_only, QopPreference::Auth, &strict).unwrap_err(),
            AuthError::AlgorithmRefused { token: "MD5".into() }
        );
        let lenient = Credentials::new("bob", "zanzibar");
        assert_eq!(
            select_per_realm_for(&md5_only, QopPreference::Auth, &lenient).unwrap()[0].algorithm,
            Algorithm::Md5
        );

        // A realm of MD5 beside one of SHA-256: the whole choice fails, since the request
        // would be refused by the first realm anyway.
        let two_realms = [ch("a", Algorithm::Md5, &[Qop::Auth]), ch("b", Algorithm::Sha256, &[Qop::Auth])];
        assert!(matches!(
            select_per_realm_for(&two_realms, QopPreference::Auth, &strict),
            Err(AuthError::AlgorithmRefused { .. })
        ));
        // An unknown algorithm beside MD5 is still reported as refused MD5, the one the
        // account could have answered.
        let other = [ch("r", Algorithm::Other("SHA3".into()), &[Qop::Auth]), ch("r", Algorithm::Md5, &[Qop::Auth])];
        assert_eq!(
            select_per_realm_for(&other, QopPreference::Auth, &strict).unwrap_err(),
            AuthError::AlgorithmRefused { token: "MD5".into() }
        );
    }
}
