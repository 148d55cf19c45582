use super::*;

fn ban(rooms: Option<&[&str]>, expires_at: Option<i64>) -> Ban {
    Ban {
        rooms: rooms.map(|r| r.iter().map(|s| (*s).to_owned()).collect()),
        expires_at,
        reason: None,
    }
}

#[test]
fn a_ban_of_every_room_covers_routes_without_a_room_too() {
    let all = ban(None, None);
    assert!(all.covers(None, 0));
    assert!(all.covers(Some("party-1"), 0));
}

#[test]
fn a_ban_of_some_rooms_covers_only_those() {
    let some = ban(Some(&["party-*", "lobby"]), None);
    assert!(some.covers(Some("party-1"), 0));
    assert!(some.covers(Some("lobby"), 0));
    assert!(!some.covers(Some("lobby-2"), 0));
    assert!(!some.covers(Some("other"), 0));
    assert!(
        !some.covers(None, 0),
        "a route without a room is not one of its rooms"
    );
    assert_eq!(some.concrete_rooms().collect::<Vec<_>>(), ["lobby"]);
}

#[test]
fn a_ban_ends_at_its_expiry() {
    let timed = ban(None, Some(100));
    assert!(timed.covers(None, 99));
    assert!(!timed.covers(None, 100));
}

#[test]
fn patterns_take_any_routes_alphabet_but_no_inner_star_or_space() {
    for good in ["party-1", "party-*", "ch:1", "1_MX4xMjM~.x", "*"] {
        assert!(parse_pattern(good).is_some(), "{good}");
    }
    let long = "a".repeat(MAX_ROOM_PATTERN + 1);
    for bad in ["", "a*b", "**", "a b", "a\u{7}", long.as_str()] {
        assert!(parse_pattern(bad).is_none(), "{bad:?}");
    }
}

#[test]
fn the_store_key_is_a_full_hash_not_the_identity() {
    let key = key_of("alice");
    assert_eq!(key.len(), 64);
    assert!(!key.contains("alice"));
    assert_ne!(key, key_of("alice "));
}

#[test]
fn debug_shows_no_reason_and_no_room() {
    let ban = Ban {
        rooms: Some(vec!["secret-room".to_owned()]),
        expires_at: None,
        reason: Some("harassed bob".to_owned()),
    };
    let debug = format!("{ban:?}");
    assert!(
        !debug.contains("secret-room") && !debug.contains("bob"),
        "{debug}"
    );
}

#[tokio::test]
async fn memory_bans_are_bounded() {
    let store = BanStore::memory();
    for i in 0..store::MEMORY_MAX {
        store
            .put(&key_of(&i.to_string()), &ban(None, None))
            .await
            .unwrap();
    }
    assert!(matches!(
        store.put(&key_of("one more"), &ban(None, None)).await,
        Err(BanStoreError::Full)
    ));
    // Replacing one held is not growth.
    store.put(&key_of("0"), &ban(None, Some(1))).await.unwrap();
    // An expired one makes room.
    store.put(&key_of("one more"), &ban(None, None)).await.unwrap();
}
