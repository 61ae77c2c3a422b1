//! The window driven through its accessibility tree (egui_kittest): the same view function the
//! app draws, found by role and label as a screen reader would, clicked and typed into. There is
//! no engine and no conference: the intents the view emits are applied with
//! `WindowState::handle`, and the effects (commands, join requests) are asserted instead of
//! carried out. The harness also checks that every input widget has an accessible name.

use eframe::egui::accesskit::{Role, Toggled};
use eframe::egui::{Key, Modifiers, ThemePreference};
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use egui_kittest::{Harness, Node};
use palabre::command::Event;
use palabre::conference::{
    ChatMessage, ConferenceCommand, ConferenceEvent, Participant, Quality, Room, Stage, Traffic,
};
use palabre::config::{Language, Settings, Theme, TransmitMode};
use palabre::directory::Protocol;
use palabre::i18n::{I18n, Phrase};
use palabre::ui::state::{Effects, Intent, Screen, WindowState};
use palabre::ui::view::{self, Drafts, Levels};

/// What the harness holds: the glue's part of the window, without an engine.
struct App {
    state: WindowState,
    i18n: I18n,
    drafts: Drafts,
    intents: Vec<Intent>,
}

const LEVELS: Levels = Levels {
    input_dbfs: -40.0,
    gate_open: false,
};

/// The window at its smallest size, in English, on `state`.
fn harness(state: WindowState) -> Harness<'static, App> {
    harness_at(state, 1.0)
}

/// The window at its smallest size (800×500 points), in English, on `state`, on a screen with
/// `pixels_per_point` pixels per point (2.0: a "200 %" display). The theme and text size of the
/// settings are applied as the glue does.
fn harness_at(state: WindowState, pixels_per_point: f32) -> Harness<'static, App> {
    let app = App {
        state,
        i18n: I18n::new(Language::En),
        drafts: Drafts::default(),
        intents: Vec::new(),
    };
    let mut harness = Harness::builder()
        .with_size([800.0, 500.0])
        .with_pixels_per_point(pixels_per_point)
        // Frames a sixtieth of a second apart, as on a screen: two clicks are a double-click.
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(
            |ui, app: &mut App| {
                view::apply_appearance(ui.ctx(), &app.state.settings);
                view::window_ui(
                    ui,
                    &app.state,
                    &app.i18n,
                    LEVELS,
                    &mut app.drafts,
                    &mut app.intents,
                );
            },
            app,
        );
    harness.run();
    harness
}

/// Takes the intents the view emitted, applies them, redraws; returns them with the merged
/// effects.
fn apply(harness: &mut Harness<'_, App>) -> (Vec<Intent>, Effects) {
    let app = harness.state_mut();
    let intents = std::mem::take(&mut app.intents);
    let mut all = Effects::default();
    for intent in intents.clone() {
        let effects = app.state.handle(intent);
        all.commands.extend(effects.commands);
        all.conference.extend(effects.conference);
        all.save |= effects.save;
        all.join = all.join.or(effects.join);
        all.probes.extend(effects.probes);
    }
    harness.run();
    (intents, all)
}

/// Focuses the field labelled `label` and types `text` into it.
fn type_into(harness: &mut Harness<'_, App>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run();
    harness.get_by_label(label).type_text(text);
    harness.run();
}

/// Focuses the field labelled `label`, selects all it holds and types `text` over it.
fn retype_into(harness: &mut Harness<'_, App>, label: &str, text: &str) {
    harness.get_by_label(label).focus();
    harness.run();
    harness.key_press_modifiers(Modifiers::COMMAND, Key::A);
    harness.run();
    harness.get_by_label(label).type_text(text);
    harness.run();
}

fn toggled(node: &Node<'_>) -> Option<Toggled> {
    node.accesskit_node().toggled()
}

fn home() -> WindowState {
    WindowState::new(Settings::default(), None, true)
}

fn participant(id: u32, name: &str, room: u32, you: bool) -> Participant {
    Participant {
        id,
        name: name.into(),
        room: Some(room),
        you,
        muted: false,
        deafened: false,
        hand_raised: false,
    }
}

/// Connected to `mumble://example.org/Team` as `me`, with alice in the lobby and bob upstairs.
fn in_call() -> WindowState {
    let mut state = home();
    state.handle(Intent::OpenLink("mumble://example.org/Team".into()));
    let effects = state.handle(Intent::Join {
        name: "me".into(),
        password: String::new(),
    });
    assert!(effects.join.is_some(), "{effects:?}");
    state.apply_conference(ConferenceEvent::Stage(Stage::Connected));
    state.apply_conference(ConferenceEvent::Roster {
        participants: vec![
            participant(1, "me", 0, true),
            participant(2, "alice", 0, false),
            Participant {
                muted: true,
                ..participant(3, "bob", 5, false)
            },
        ],
        rooms: vec![
            Room {
                id: 0,
                parent: None,
                name: "Lobby".into(),
            },
            Room {
                id: 5,
                parent: Some(0),
                name: "Upstairs".into(),
            },
        ],
    });
    state.apply_conference(ConferenceEvent::Traffic(Traffic {
        up_bps: 41_000.0,
        down_bps: 83_000.0,
        total_bytes: 2_500_000,
        quality: Quality {
            rtt_ms: Some(44),
            loss_percent: Some(0.4),
        },
    }));
    state
}

#[test]
fn an_instance_is_picked_from_the_directory() {
    let state = home();
    let mumble = state
        .directory
        .iter()
        .find(|i| i.protocol == Protocol::Mumble)
        .expect("a Mumble server in the directory")
        .clone();
    let mut harness = harness(state);
    // Far down the list at this size: clicked through AccessKit, as a screen reader would.
    harness
        .get_by_label(&format!("Open {}", mumble.name))
        .click_accesskit();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::OpenLink(mumble.link())]);
    assert_eq!(harness.state().state.screen, Screen::BeforeJoin);
    // The form: a join button (disabled until a name is typed), audio only checked and locked.
    assert!(harness.get_by_label("Join").accesskit_node().is_disabled());
    let audio_only = harness.get_by_label("Audio only");
    assert_eq!(toggled(&audio_only), Some(Toggled::True));
    assert!(audio_only.accesskit_node().is_disabled());
    type_into(&mut harness, "Your name", "Zoé");
    harness.get_by_label("Join").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(
        intents,
        vec![Intent::Join {
            name: "Zoé".into(),
            password: String::new()
        }]
    );
    let join = effects.join.expect("a join request");
    assert_eq!(join.name, "Zoé");
    assert!(effects.save);
    assert_eq!(harness.state().state.screen, Screen::Call);
    harness.get_by_label("Connecting…");
}

#[test]
fn a_pasted_link_opens_its_form() {
    let mut harness = harness(home());
    type_into(
        &mut harness,
        "Meeting link or server address",
        "mumble://alice:pw@example.org/Team",
    );
    harness.get_by_label("Open").click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(
        intents,
        vec![Intent::OpenLink(
            "mumble://alice:pw@example.org/Team".into()
        )]
    );
    assert_eq!(harness.state().state.screen, Screen::BeforeJoin);
    assert_eq!(
        harness.get_by_label("Your name").value().as_deref(),
        Some("alice")
    );
    harness.get_by_label("Team — example.org");
    assert!(!harness.get_by_label("Join").accesskit_node().is_disabled());
    // Enter in the name field joins too.
    harness.get_by_label("Your name").focus();
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(
        intents,
        vec![Intent::Join {
            name: "alice".into(),
            password: "pw".into()
        }]
    );
    assert_eq!(
        effects.join.and_then(|join| join.password).as_deref(),
        Some("pw")
    );
}

#[test]
fn a_jitsi_server_asks_for_a_room_then_joins_it() {
    let mut harness = harness(home());
    harness
        .state_mut()
        .state
        .handle(Intent::OpenLink("https://meet.example.org/".into()));
    harness.run();
    type_into(&mut harness, "Room name", "Weekly");
    harness.get_by_label("Continue").click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(
        intents,
        vec![Intent::OpenLink("https://meet.example.org/Weekly".into())]
    );
    assert_eq!(
        toggled(&harness.get_by_label("Audio only")),
        Some(Toggled::True)
    );
    type_into(&mut harness, "Your name", "Zoé");
    assert!(!harness.get_by_label("Join").accesskit_node().is_disabled());
    harness.get_by_label("Join").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert!(
        matches!(intents.as_slice(), [Intent::Join { name, .. }] if name == "Zoé"),
        "{intents:?}"
    );
    assert!(
        matches!(&effects.join, Some(request) if matches!(&request.link, palabre::ui::state::JoinLink::Jitsi(link) if link.room == "Weekly")),
        "{effects:?}"
    );
}

#[test]
fn a_bad_link_shows_the_error() {
    let mut harness = harness(home());
    type_into(
        &mut harness,
        "Meeting link or server address",
        "ftp://example.org",
    );
    harness.key_press(Key::Enter);
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::OpenLink("ftp://example.org".into())]);
    assert_eq!(harness.state().state.screen, Screen::Home);
    harness.get_by_label_contains("palabre could not read this link: palabre does not open");
    harness.get_by_label("Dismiss").click();
    harness.run();
    apply(&mut harness);
    assert!(
        harness
            .query_by_label_contains("palabre could not read this link")
            .is_none()
    );
}

#[test]
fn favourites_are_starred_and_listed() {
    let mut harness = harness(home());
    harness.get_by_label("Meeting link or server address");
    let star = harness
        .query_all_by_label("Add to favourites")
        .next()
        .expect("a star in the directory");
    star.click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert!(matches!(intents.as_slice(), [Intent::ToggleFavourite(_)]));
    assert!(effects.save);
    assert_eq!(harness.state().state.settings.favourites.len(), 1);
    // Listed under Favourites and in the directory: both stars now remove it.
    assert_eq!(
        harness.query_all_by_label("Remove from favourites").count(),
        2
    );
}

#[test]
fn a_server_of_your_own_is_added_opened_and_removed() {
    let mut harness = harness(home());
    harness.get_by_label("None yet: add the server of your association or workplace below.");
    harness.get_by_label("Add a server").click();
    harness.run();
    // Something that is no address: told so, nothing saved.
    type_into(&mut harness, "Address", "not a server");
    harness.get_by_label("Add").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert!(!effects.save);
    harness.get_by_label(
        "“not a server” is not a server address: type a name such as voice.example.org, or paste a link.",
    );
    // A Mumble link with a channel: the server is kept, under the name given.
    retype_into(
        &mut harness,
        "Address",
        "mumble://ann@voice.example.org/Lobby",
    );
    type_into(&mut harness, "Name", "Our club");
    harness.get_by_label("Add").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert!(matches!(intents.as_slice(), [Intent::AddOwnServer { .. }]));
    assert!(effects.save);
    let servers = &harness.state().state.settings.own_servers;
    assert_eq!(servers.len(), 1);
    assert_eq!(
        (
            servers[0].name.as_str(),
            servers[0].host.as_str(),
            servers[0].protocol
        ),
        ("Our club", "voice.example.org", Protocol::Mumble)
    );
    // The fields are emptied for the next one.
    harness.run();
    assert_eq!(harness.state().drafts.own_address, "");
    // Opened like a directory entry: the before-join form of that server.
    harness.get_by_label("Open Our club").click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(
        intents,
        vec![Intent::OpenLink("mumble://voice.example.org".into())]
    );
    assert_eq!(harness.state().state.screen, Screen::BeforeJoin);
    harness.state_mut().state.handle(Intent::GoHome);
    harness.run();
    harness
        .get_by_label("Remove Our club from your servers")
        .click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert!(effects.save);
    assert!(harness.state().state.settings.own_servers.is_empty());
}

#[test]
fn mute_in_a_call() {
    let mut harness = harness(in_call());
    harness.get_by_label("Connected");
    harness.get_by_label("Sending 41 kbit/s · receiving 83 kbit/s · 2.5 MB used");
    harness.get_by_label("Connection: good · 40 ms round trip · 0% lost");
    harness.get_by_label("me (you)");
    harness.get_by_label("muted");
    harness.get_by_label("Mute").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::Mute(true)]);
    assert_eq!(effects.conference, vec![ConferenceCommand::Mute(true)]);
    harness.get_by_label("Unmute");
    // The room tree: a move by the room's button.
    harness.get_by_label("Join the room Upstairs").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert_eq!(effects.conference, vec![ConferenceCommand::MoveTo(5)]);
}

#[test]
fn send_a_chat_message() {
    let mut harness = harness(in_call());
    harness
        .state_mut()
        .state
        .apply_conference(ConferenceEvent::Chat(ChatMessage {
            from: "alice".into(),
            private: false,
            text: "hello all".into(),
            own: false,
        }));
    harness.run();
    harness.get_by_label("Chat (1)").click();
    harness.run();
    apply(&mut harness);
    harness.get_by_label("hello all");
    harness.get_by_label("Chat");
    type_into(&mut harness, "Message", "hi alice");
    harness.get_by_label("Send").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SendChat("hi alice".into())]);
    assert_eq!(
        effects.conference,
        vec![ConferenceCommand::Chat {
            to: None,
            text: "hi alice".into()
        }]
    );
    assert_eq!(harness.state().drafts.chat, "");
    // Enter sends too.
    type_into(&mut harness, "Message", "and again");
    harness.key_press(Key::Enter);
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SendChat("and again".into())]);
}

#[test]
fn a_participant_starts_speaking() {
    let mut harness = harness(in_call());
    harness.get_by_label("alice is silent");
    harness.state_mut().state.apply(Event::Speaking {
        speaker: 2,
        on: true,
    });
    harness.run();
    harness.get_by_label("alice is speaking");
    harness.get_by_label("bob is silent");
}

#[test]
fn leaving_ends_with_a_way_back() {
    let mut harness = harness(in_call());
    harness.get_by_label("Leave").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert_eq!(effects.conference, vec![ConferenceCommand::Leave]);
    harness.get_by_label("Leaving…");
    harness
        .state_mut()
        .state
        .apply_conference(ConferenceEvent::Stage(Stage::Ended {
            reason: "You left the server.".into(),
            failed: false,
        }));
    harness.run();
    harness.get_by_label("Ended: You left the server.");
    harness.get_by_label("Back to the start").click();
    harness.run();
    apply(&mut harness);
    assert_eq!(harness.state().state.screen, Screen::Home);
}

#[test]
fn a_server_password_is_asked_for_and_typed() {
    let mut state = home();
    state.handle(Intent::OpenLink("mumble://example.org/Team".into()));
    state.handle(Intent::Join {
        name: "me".into(),
        password: String::new(),
    });
    state.apply_conference(ConferenceEvent::PasswordNeeded { wrong: false });
    state.apply_conference(ConferenceEvent::Stage(Stage::Ended {
        reason: Phrase::tr("mumble-reject-wrong-server-password"),
        failed: true,
    }));
    let mut harness = harness(state);
    harness.get_by_label("Ended: The server password is missing or wrong.");
    harness
        .get_by_label("Type the password and join again")
        .click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::TypePassword]);
    assert_eq!(harness.state().state.screen, Screen::BeforeJoin);
    harness.run();
    harness.get_by_label("This server or meeting asks for a password: type it below, then join.");
    // The cursor is in the password field: typing goes there, and Join sends it.
    let password = harness.get_by_label("Server password");
    assert!(password.is_focused());
    password.type_text("s3cret");
    harness.run();
    harness.get_by_label("Join").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    let join = effects.join.expect("joins again");
    assert_eq!(join.name, "me");
    assert_eq!(join.password.as_deref(), Some("s3cret"));
}

#[test]
fn an_instance_is_checked_only_when_asked() {
    let mut harness = harness(home());
    // Nothing is checked by itself.
    assert!(harness.state().state.probes.is_empty());
    harness
        .get_by_label("Check whether TeDomum answers")
        .click_accesskit();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(
        intents,
        vec![Intent::CheckInstance("https://meet.tedomum.net/".into())]
    );
    assert_eq!(effects.probes.len(), 1);
    assert_eq!(effects.probes[0].host, "meet.tedomum.net");
    assert_eq!(
        effects.probes[0].protocol,
        palabre::directory::Protocol::Jitsi
    );
    harness.run();
    harness.get_by_label("checking…");
    // A second click while it runs asks nothing more.
    let again = harness
        .state_mut()
        .state
        .handle(Intent::CheckInstance("https://meet.tedomum.net/".into()));
    assert!(again.probes.is_empty());
    harness.state_mut().state.apply_probe(
        "https://meet.tedomum.net/".into(),
        palabre::net::probe::Probe::Up {
            rtt_ms: 42,
            users: None,
        },
    );
    harness.run();
    harness.get_by_label("answers in 42 ms");
}

#[test]
fn our_own_light_shows_when_our_voice_goes_out() {
    let mut harness = harness(in_call());
    harness.get_by_label("me is silent");
    harness.state_mut().state.apply(Event::Sending(true));
    harness.run();
    harness.get_by_label("me is speaking");
    // Muted: nothing goes out, whatever the gate says.
    harness.state_mut().state.call.muted = true;
    harness.run();
    harness.get_by_label("me is silent");
}

#[test]
fn a_private_message() {
    let mut harness = harness(in_call());
    harness.get_by_label("Write privately to alice").click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::ChatTo(Some(2))]);
    harness.get_by_label("To alice, privately");
    type_into(&mut harness, "Message", "just you");
    harness.get_by_label("Send").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert_eq!(
        effects.conference,
        vec![ConferenceCommand::Chat {
            to: Some(2),
            text: "just you".into()
        }]
    );
    // Back to everyone.
    harness.get_by_label("To everyone").click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::ChatTo(None)]);
    assert!(harness.query_by_label("To alice, privately").is_none());
}

#[test]
fn a_changed_server_certificate_asks_the_user() {
    let mut state = home();
    state.handle(Intent::OpenLink("mumble://example.org/Team".into()));
    state.handle(Intent::Join {
        name: "Alice".into(),
        password: String::new(),
    });
    let sentence = "The certificate of example.org:64738 has changed since you last connected.";
    state.apply_conference(ConferenceEvent::CertificateChanged(sentence.into()));
    state.apply_conference(ConferenceEvent::Stage(Stage::Ended {
        reason: sentence.into(),
        failed: true,
    }));
    let mut harness = harness(state);
    harness.get_by_label(&format!("Ended: {sentence}"));
    harness
        .get_by_label("Trust the new certificate and join")
        .click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::TrustNewCertificate]);
    assert!(effects.join.expect("joins again").accept_new_certificate);
}

/// Finds the control labelled `label` and checks that it lies inside the 800×500-point window
/// (`pixels_per_point` physical pixels per point, text size included).
fn on_screen(harness: &Harness<'_, App>, label: &str, pixels_per_point: f32) {
    let node = harness.get_by_label(label);
    let bounds = node
        .accesskit_node()
        .bounding_box()
        .unwrap_or_else(|| panic!("{label} has no bounds"));
    let (width, height) = (
        f64::from(800.0 * pixels_per_point),
        f64::from(500.0 * pixels_per_point),
    );
    assert!(
        bounds.x0 >= 0.0
            && bounds.y0 >= 0.0
            && bounds.x1 <= width + 0.5
            && bounds.y1 <= height + 0.5,
        "{label} is outside the window: {bounds:?} (window {width}×{height} px)"
    );
}

/// Scrolls to the control labelled `label` and clicks it with the pointer.
fn click_scrolled(harness: &mut Harness<'_, App>, label: &str) {
    harness.get_by_label(label).scroll_to_me();
    harness.run();
    harness.get_by_label(label).click();
    harness.run();
}

/// Scrolls to the combo box labelled `label` and opens it with the pointer.
fn open_combo(harness: &mut Harness<'_, App>, label: &str) {
    harness
        .get_by_role_and_label(Role::ComboBox, label)
        .scroll_to_me();
    harness.run();
    harness.get_by_role_and_label(Role::ComboBox, label).click();
    harness.run();
}

#[test]
fn settings_open_from_home_and_change_the_look() {
    let mut harness = harness(home());
    harness.get_by_label("Settings").click();
    harness.run();
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::OpenSettings]);
    assert_eq!(harness.state().state.screen, Screen::Settings);
    harness.get_by_label("Keyboard shortcuts");

    click_scrolled(&mut harness, "Dark");
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SetTheme(Theme::Dark)]);
    assert!(effects.save);
    assert_eq!(harness.state().state.settings.theme, Theme::Dark);
    assert_eq!(
        harness.ctx.options(|o| o.theme_preference),
        ThemePreference::Dark
    );
    assert_eq!(
        toggled(&harness.get_by_label("Dark")),
        Some(Toggled::True),
        "the radio button shows the choice"
    );

    click_scrolled(&mut harness, "200%");
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SetTextSize(200)]);
    assert!(effects.save);
    assert_eq!(harness.state().state.settings.text_size_percent, 200);
    assert_eq!(harness.ctx.zoom_factor(), 2.0);
    // Once applied, the look costs no frame: nothing asks for a repaint.
    assert_eq!(harness.run(), 1);
    // Still usable at 200 %: back to the start, where the main controls are on screen.
    click_scrolled(&mut harness, "Back");
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::CloseSettings]);
    assert_eq!(harness.state().state.screen, Screen::Home);
    for label in ["Meeting link or server address", "Open", "Settings"] {
        on_screen(&harness, label, 2.0);
    }
}

#[test]
fn a_push_to_talk_key_and_a_mute_shortcut_are_chosen() {
    let mut state = home();
    state.settings.audio.transmit = TransmitMode::PushToTalk;
    state.handle(Intent::OpenSettings);
    let mut harness = harness(state);
    harness.get_by_label("Hold Space to talk while this window is in front.");
    open_combo(&mut harness, "Push-to-talk key");
    click_scrolled(&mut harness, "F8");
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SetPushToTalkKey("F8".into())]);
    assert!(effects.save);
    assert_eq!(harness.state().state.settings.push_to_talk_key, "F8");
    harness.get_by_label("Hold F8 to talk while this window is in front.");
    // On an X11 desktop a function key is also seen from other windows; Space never is.
    harness.state_mut().state.global_keys = true;
    harness.run();
    harness.get_by_label("Hold F8 to talk, even while another window is in front.");
    harness.state_mut().state.settings.push_to_talk_key = "Space".into();
    harness.run();
    harness.get_by_label("Hold Space to talk while this window is in front.");
    harness.state_mut().state.settings.push_to_talk_key = "F8".into();
    harness.run();

    open_combo(&mut harness, "Mute or unmute in a call");
    click_scrolled(&mut harness, "No shortcut");
    let (intents, _) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SetMuteKey(String::new())]);
    assert_eq!(harness.state().state.settings.mute_key, "");
}

#[test]
fn the_mute_shortcut_toggles_mute_unless_typing() {
    let mut harness = harness(in_call());
    // The key alone does nothing; with Ctrl it mutes, and again unmutes.
    harness.key_press(Key::M);
    harness.run();
    assert!(apply(&mut harness).0.is_empty());
    harness.key_press_modifiers(Modifiers::CTRL, Key::M);
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::Mute(true)]);
    assert_eq!(effects.conference, vec![ConferenceCommand::Mute(true)]);
    harness.key_press_modifiers(Modifiers::CTRL, Key::M);
    harness.run();
    assert_eq!(apply(&mut harness).0, vec![Intent::Mute(false)]);
    // While a message is being typed, the shortcut is left to the text field.
    harness.get_by_label("Chat").click();
    harness.run();
    apply(&mut harness);
    harness.get_by_label("Message").focus();
    harness.run();
    harness.key_press_modifiers(Modifiers::CTRL, Key::M);
    harness.run();
    assert!(apply(&mut harness).0.is_empty());
}

#[test]
fn settings_in_a_call_go_back_to_the_call() {
    let mut harness = harness(in_call());
    harness.get_by_label("Settings").click();
    harness.run();
    apply(&mut harness);
    assert_eq!(harness.state().state.screen, Screen::Settings);
    assert!(harness.state().state.in_call());
    // The mute shortcut still works behind the settings.
    harness.key_press_modifiers(Modifiers::CTRL, Key::M);
    harness.run();
    assert_eq!(apply(&mut harness).0, vec![Intent::Mute(true)]);
    harness.get_by_label("Back").click();
    harness.run();
    apply(&mut harness);
    assert_eq!(harness.state().state.screen, Screen::Call);
    harness.get_by_label("Unmute");
}

#[test]
fn the_screens_work_at_200_percent_scale() {
    // A 200 % display, then 200 % text on a 100 % display, then both.
    for (pixels_per_point, text_size) in [(2.0, 100), (1.0, 200), (2.0, 200)] {
        let scale = pixels_per_point * text_size as f32 / 100.0;
        let mut state = home();
        state.settings.text_size_percent = text_size;
        let harness = harness_at(state, pixels_per_point);
        for label in [
            "Meeting link or server address",
            "Open",
            "Audio set-up and echo test",
            "Settings",
        ] {
            on_screen(&harness, label, scale);
        }

        let mut state = in_call();
        state.settings.text_size_percent = text_size;
        let harness = harness_at(state, pixels_per_point);
        for label in ["Connected", "Mute", "Deafen", "Chat", "Settings", "Leave"] {
            on_screen(&harness, label, scale);
        }
        harness.get_by_label("alice is silent");

        let mut state = home();
        state.settings.text_size_percent = text_size;
        state.handle(Intent::OpenSettings);
        let harness = harness_at(state, pixels_per_point);
        on_screen(&harness, "Back", scale);
        for label in ["Microphone", "Push-to-talk key", "Dark", "200%"] {
            harness.get_by_role_and_label(
                match label {
                    "Dark" | "200%" => Role::RadioButton,
                    _ => Role::ComboBox,
                },
                label,
            );
        }
    }
}

#[test]
fn the_look_can_be_chosen_with_the_keyboard() {
    let mut state = home();
    state.handle(Intent::OpenSettings);
    let mut harness = harness(state);
    harness.get_by_label("Same as the system").scroll_to_me();
    harness.run();
    harness.get_by_label("Same as the system").focus();
    harness.run();
    // Tab moves to the next choice; Space takes it.
    harness.key_press(Key::Tab);
    harness.run();
    assert!(harness.get_by_label("Light").is_focused());
    harness.key_press(Key::Space);
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::SetTheme(Theme::Light)]);
    assert!(effects.save);
    harness.key_press(Key::Tab);
    harness.run();
    harness.key_press(Key::Tab);
    harness.run();
    assert!(harness.get_by_label("100%").is_focused());
    harness.key_press(Key::Tab);
    harness.run();
    harness.key_press(Key::Enter);
    harness.run();
    assert_eq!(apply(&mut harness).0, vec![Intent::SetTextSize(125)]);
}

/// The whole window (the glue, `PalabreApp`) on an engine that only records its commands: the
/// saved theme and text size are applied, and the chosen push-to-talk key is the one listened to.
#[test]
fn the_glue_applies_the_look_and_listens_to_the_chosen_key() {
    use std::sync::Arc;
    use std::sync::mpsc::channel;

    use palabre::audio::Meters;
    use palabre::audio::engine::EngineHandle;
    use palabre::audio::rt::RtCounters;
    use palabre::command::Command;
    use palabre::ui::PalabreApp;

    let mut settings = Settings {
        language: Language::En,
        theme: Theme::Dark,
        text_size_percent: 150,
        push_to_talk_key: "F8".into(),
        ..Settings::default()
    };
    settings.audio.transmit = TransmitMode::PushToTalk;
    let (commands, received) = channel::<Command>();
    let (_events, events) = channel::<Event>();
    let engine = EngineHandle {
        commands,
        events,
        meters: Arc::new(Meters::default()),
        counters: Arc::new(RtCounters::default()),
    };
    let mut harness = Harness::builder()
        .with_size([800.0, 500.0])
        .build_eframe(|cc| PalabreApp::new(&cc.egui_ctx, settings, None, None, None, |_| engine));
    harness.run();
    assert_eq!(harness.ctx.zoom_factor(), 1.5);
    assert_eq!(
        harness.ctx.options(|o| o.theme_preference),
        ThemePreference::Dark
    );
    let push_to_talk = |received: &std::sync::mpsc::Receiver<Command>| {
        received
            .try_iter()
            .filter_map(|command| match command {
                Command::PushToTalk(held) => Some(held),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert!(push_to_talk(&received).is_empty());
    // Space is not the key any more.
    harness.key_down(Key::Space);
    harness.run();
    harness.key_up(Key::Space);
    harness.run();
    assert!(push_to_talk(&received).is_empty());
    harness.key_down(Key::F8);
    harness.run();
    assert_eq!(push_to_talk(&received), vec![true]);
    harness.key_up(Key::F8);
    harness.run();
    assert_eq!(push_to_talk(&received), vec![false]);
}

#[test]
fn a_hand_is_raised_in_a_jitsi_meeting() {
    let mut state = home();
    state.handle(Intent::OpenLink("https://meet.example.org/Standup".into()));
    let effects = state.handle(Intent::Join {
        name: "me".into(),
        password: String::new(),
    });
    assert!(effects.join.is_some(), "{effects:?}");
    state.apply_conference(ConferenceEvent::Stage(Stage::Connected));
    state.apply_conference(ConferenceEvent::Roster {
        participants: vec![
            Participant {
                room: None,
                ..participant(0, "me", 0, true)
            },
            Participant {
                room: None,
                hand_raised: true,
                ..participant(1, "alice", 0, false)
            },
        ],
        rooms: Vec::new(),
    });
    let mut harness = harness(state);
    // No rooms, no deafening: a hand to raise instead; alice's is up.
    assert!(harness.query_by_label("Deafen").is_none());
    harness.get_by_label("Raise hand").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::RaiseHand(true)]);
    assert_eq!(effects.conference, vec![ConferenceCommand::RaiseHand(true)]);
    harness.get_by_label("Lower hand");
}

#[test]
fn the_directory_is_searched_and_filtered() {
    let mut harness = harness(home());
    harness.get_by_label("Open TeDomum");
    type_into(&mut harness, "Search", "lyon");
    // Only Hadoly is in Lyon.
    harness.get_by_label("Open Hadoly");
    assert!(harness.query_by_label("Open TeDomum").is_none());
    // Its kind is searched in the window's words too.
    retype_into(&mut harness, "Search", "research network");
    harness.get_by_label("Open Belnet");
    harness.get_by_label("Open SWITCH");
    assert!(harness.query_by_label("Open Hadoly").is_none());
    retype_into(&mut harness, "Search", "no such host anywhere");
    harness.get_by_label("No server matches this search.");
}

#[test]
fn others_raised_hands_show_and_a_room_is_joined_by_double_click() {
    let mut state = in_call();
    // The same rooms (Lobby, and Upstairs in it); alice now has her hand up.
    let rooms = state.call.rooms.clone();
    state.apply_conference(ConferenceEvent::Roster {
        participants: vec![
            participant(1, "me", 0, true),
            Participant {
                hand_raised: true,
                ..participant(2, "alice", 0, false)
            },
        ],
        rooms,
    });
    let mut harness = harness(state);
    harness.get_by_label("hand raised");
    // A double-click on a room's name moves there, as in Mumble's own client.
    let room = harness.get_by_label("Upstairs");
    room.click();
    room.click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert_eq!(effects.conference, vec![ConferenceCommand::MoveTo(5)]);
}

#[test]
fn the_echo_test_starts_and_stops_from_its_screen() {
    let mut harness = harness(home());
    harness.get_by_label("Audio set-up and echo test").click();
    harness.run();
    apply(&mut harness);
    assert_eq!(harness.state().state.screen, Screen::AudioSetup);
    harness.get_by_label("Start the echo test").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert_eq!(
        effects.commands,
        vec![palabre::command::Command::StartEchoTest]
    );
    harness.state_mut().state.apply(Event::EchoTestStarted);
    harness.run();
    harness.get_by_label("The echo test is running: speak, then listen.");
    harness.get_by_label("Stop the echo test").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert_eq!(
        effects.commands,
        vec![palabre::command::Command::StopEchoTest]
    );
}

/// The window in French: the same screens, found by their French labels.
#[test]
fn the_window_speaks_french() {
    let settings = Settings {
        language: Language::Fr,
        ..Settings::default()
    };
    let mut harness = harness(WindowState::new(settings, None, true));
    harness.state_mut().i18n = I18n::new(Language::Fr);
    harness.run();
    harness.get_by_label("Rejoindre une réunion");
    harness.get_by_label("Vos serveurs");
    type_into(&mut harness, "Rechercher", "réseau de recherche");
    harness.get_by_label("Ouvrir Belnet");
    let mut harness = harness_fr(in_call());
    harness.get_by_label("Connecté");
    // French typography: no-break spaces before units and double punctuation.
    harness.get_by_label("Envoi 41\u{a0}kbit/s · réception 83\u{a0}kbit/s · 2,5\u{a0}Mo consommés");
    harness.get_by_label("Connexion\u{a0}: bonne · aller-retour 40\u{a0}ms · 0\u{a0}% perdus");
    harness
        .state_mut()
        .state
        .apply_conference(ConferenceEvent::Stage(Stage::Ended {
            reason: Phrase::tr("mumble-left"),
            failed: false,
        }));
    harness.run();
    harness.get_by_label("Terminé\u{a0}: Vous avez quitté le serveur.");
}

/// [`harness`] in French.
fn harness_fr(state: WindowState) -> Harness<'static, App> {
    let mut harness = harness(state);
    harness.state_mut().i18n = I18n::new(Language::Fr);
    harness.run();
    harness
}

/// Jitsi Meet out of audio-only mode: chosen before joining (and remembered), others' cameras
/// shown as tiles, the camera turned on, then audio only again drops the tiles and the camera.
#[test]
fn video_is_chosen_before_joining_and_in_the_call() {
    let mut state = home();
    state.handle(Intent::OpenLink("https://meet.example.org/Standup".into()));
    let mut harness = harness(state);
    // Audio only, checked by default; the camera list waits until it is unchecked.
    let audio_only = harness.get_by_label("Audio only");
    assert_eq!(toggled(&audio_only), Some(Toggled::True));
    assert!(!audio_only.accesskit_node().is_disabled());
    assert!(
        harness
            .get_by_label("Camera")
            .accesskit_node()
            .is_disabled()
    );
    harness.get_by_label("Audio only").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::AudioOnly(false)]);
    assert!(effects.save && !harness.state().state.settings.audio_only);
    assert!(
        !harness
            .get_by_label("Camera")
            .accesskit_node()
            .is_disabled()
    );
    type_into(&mut harness, "Your name", "me");
    harness.get_by_label("Join").click();
    harness.run();
    let (_, effects) = apply(&mut harness);
    assert!(!effects.join.expect("a join request").audio_only);
    let state = &mut harness.state_mut().state;
    state.apply_conference(ConferenceEvent::Stage(Stage::Connected));
    state.apply_conference(ConferenceEvent::Roster {
        participants: vec![
            Participant {
                room: None,
                ..participant(0, "me", 0, true)
            },
            Participant {
                room: None,
                ..participant(1, "alice", 0, false)
            },
        ],
        rooms: Vec::new(),
    });
    let picture = palabre::video::Rgba::from_i420(
        &palabre::video::TestPattern::new(320, 180).next_frame(),
        palabre::video::TILE_WIDTH,
    );
    state.apply_conference(ConferenceEvent::Video {
        participant: 1,
        picture: Some(std::sync::Arc::new(picture)),
    });
    harness.run();
    harness.get_by_label("Camera of alice");
    // The camera, allowed out of audio-only mode.
    let camera = harness.get_by_label("Turn camera on");
    assert!(!camera.accesskit_node().is_disabled());
    camera.click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::Camera(true)]);
    assert_eq!(
        effects.conference,
        vec![ConferenceCommand::Camera(Some(
            palabre::video::camera::Source::Default
        ))]
    );
    harness.get_by_label("Turn camera off");
    // Audio only again: the tiles go, the camera goes off and cannot be turned on.
    harness.get_by_label("Audio only").click();
    harness.run();
    let (intents, effects) = apply(&mut harness);
    assert_eq!(intents, vec![Intent::AudioOnly(true)]);
    assert_eq!(effects.conference, vec![ConferenceCommand::AudioOnly(true)]);
    assert!(harness.query_by_label("Camera of alice").is_none());
    assert!(
        harness
            .get_by_label("Turn camera on")
            .accesskit_node()
            .is_disabled()
    );
    // Out of it again, alice's next picture is shown until she leaves.
    harness.get_by_label("Audio only").click();
    harness.run();
    apply(&mut harness);
    let state = &mut harness.state_mut().state;
    let picture = palabre::video::Rgba::from_i420(&palabre::video::I420::black(64, 36), 320);
    state.apply_conference(ConferenceEvent::Video {
        participant: 1,
        picture: Some(std::sync::Arc::new(picture)),
    });
    harness.run();
    harness.get_by_label("Camera of alice");
    harness
        .state_mut()
        .state
        .apply_conference(ConferenceEvent::Roster {
            participants: vec![Participant {
                room: None,
                ..participant(0, "me", 0, true)
            }],
            rooms: Vec::new(),
        });
    harness.run();
    assert!(harness.query_by_label("Camera of alice").is_none());
}
