//! Choosing which of several challenges to answer.
//!
//! A 401/407 may carry several challenges for the same realm, one per
//! algorithm (RFC 8760 §2.4, RFC 7616 §3.7), and a 407 may carry challenges
//! of several proxies, each with its own realm (RFC 3261 §22.3).

use super::challenge::Challenge;
use super::error::AuthError;
use super::qop::QopPreference;

/// Score of answering `c`, or `None` if it cannot be answered: the algorithm
/// strength first, then how well the offered qop fits the preference.
fn score(c: &Challenge, preference: QopPreference) -> Option<(u8, u8)> {
    if !c.algorithm.is_supported() {
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
    pick(challenges.iter(), preference)
}

/// [`select`] over any re-iterable sequence of challenges.
fn pick<'a, I>(challenges: I, preference: QopPreference) -> Result<&'a Challenge, AuthError>
where
    I: Iterator<Item = &'a Challenge> + Clone,
{
    let mut best: Option<(&Challenge, (u8, u8))> = None;
    for c in challenges.clone() {
        if let Some(s) = score(c, preference) {
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
        chosen.push(pick(same_realm, preference)?);
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
}
