//! The window's screens: pure views over [`WindowState`] that emit [`Intent`]s.
//!
//! Nothing here changes the state or talks to the engine; every user action becomes an
//! [`Intent`] pushed to `intents`, applied by the glue in `ui/mod.rs` on the next `logic` pass.
//! The only thing the view owns is [`Drafts`], the text being typed. Every control has a visible
//! label or an accessible name, which egui passes to AccessKit; all of it is reachable with Tab.

use eframe::egui;
use eframe::egui::{
    Align2, Color32, FontId, Key, Rect, Role, Sense, Stroke, StrokeKind, Ui, WidgetInfo,
};

use crate::audio::device::DeviceInfo;
use crate::audio::meter::SILENCE_DBFS;
use crate::conference::{Participant, Quality, QualityLevel, Room, Stage};
use crate::config::{
    AudioSettings, GATE_MAX_DBFS, GATE_MIN_DBFS, Language, MUTE_KEYS, PUSH_TO_TALK_KEYS, Preset,
    Settings, TEXT_SIZES_PERCENT, Theme, TransmitMode,
};
use crate::directory::{self, Instance, Protocol};
use crate::i18n::{FluentValue, I18n};
use crate::net::probe::Probe;
use crate::ui::state::{Availability, EchoPhase, Intent, JoinForm, Screen, Target, WindowState};

/// The live values read from [`crate::audio::Meters`] for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// Microphone level, dBFS.
    pub input_dbfs: f32,
    /// Whether the noise gate lets the microphone through.
    pub gate_open: bool,
}

/// What the user is typing: the buffers egui's text fields edit, owned by the glue and kept
/// across frames. Not part of [`WindowState`]: nothing here matters until an [`Intent`] says so.
#[derive(Debug, Clone, Default)]
pub struct Drafts {
    /// The link field on the start screen.
    pub link: String,
    /// The directory search field.
    pub search: String,
    /// The directory's protocol filter (`None`: all).
    pub protocol: Option<Protocol>,
    /// The name field before joining.
    pub name: String,
    /// The password field before joining.
    pub password: String,
    /// The room name asked for a Jitsi Meet server without room.
    pub room: String,
    /// The chat message being written.
    pub chat: String,
    /// The [`JoinForm::id`] the name and password fields were filled from.
    pub form_id: u64,
    /// The name field of "add a server".
    pub own_name: String,
    /// The address field of "add a server".
    pub own_address: String,
    /// The protocol chosen in "add a server" (used when the address does not say).
    pub own_protocol: Option<Protocol>,
    /// [`WindowState::own_servers_added`] when the fields were last emptied.
    pub own_added_seen: u64,
    /// The [`JoinForm::id`] whose password field was given the focus.
    pub password_focused: u64,
    /// The textures of the video tiles, refreshed when a new picture comes.
    pub tiles: VideoTextures,
}

/// One texture per participant's camera, with the picture it holds.
#[derive(Clone, Default)]
pub struct VideoTextures(
    std::collections::HashMap<u32, (std::sync::Arc<crate::video::Rgba>, egui::TextureHandle)>,
);

impl std::fmt::Debug for VideoTextures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VideoTextures({})", self.0.len())
    }
}

impl VideoTextures {
    /// The texture showing `picture`, uploaded only when the picture changed.
    fn texture(
        &mut self,
        ctx: &egui::Context,
        participant: u32,
        picture: &std::sync::Arc<crate::video::Rgba>,
    ) -> egui::TextureHandle {
        let image = || {
            egui::ColorImage::from_rgba_unmultiplied(
                [picture.width as usize, picture.height as usize],
                &picture.pixels,
            )
        };
        match self.0.get_mut(&participant) {
            Some((shown, handle)) => {
                if !std::sync::Arc::ptr_eq(shown, picture) {
                    handle.set(image(), egui::TextureOptions::LINEAR);
                    *shown = picture.clone();
                }
                handle.clone()
            }
            None => {
                let handle = ctx.load_texture(
                    format!("video-{participant}"),
                    image(),
                    egui::TextureOptions::LINEAR,
                );
                self.0
                    .insert(participant, (picture.clone(), handle.clone()));
                handle
            }
        }
    }

    /// Drops the textures of those without a picture now.
    fn keep(
        &mut self,
        videos: &std::collections::BTreeMap<u32, std::sync::Arc<crate::video::Rgba>>,
    ) {
        self.0.retain(|id, _| videos.contains_key(id));
    }
}

/// Left end of the level meter, dBFS.
const METER_MIN_DBFS: f32 = GATE_MIN_DBFS;
/// Right end of the level meter, dBFS.
const METER_MAX_DBFS: f32 = GATE_MAX_DBFS;
/// Height of the meter bar, in points.
const METER_HEIGHT: f32 = 28.0;
/// Height of the scale under the bar, in points.
const SCALE_HEIGHT: f32 = 16.0;
/// Colour of the bar while the gate is open (speaking).
const SPEAKING_GREEN: Color32 = Color32::from_rgb(60, 170, 90);
/// Rooms deeper than this are not drawn (a malformed tree cannot recurse for ever).
const MAX_ROOM_DEPTH: usize = 64;

/// The whole window: the screen the state asks for.
pub fn window_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    levels: Levels,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    mute_shortcut(ui, state, intents);
    match state.screen {
        Screen::Home => scrolled(ui, "home", |ui| home_ui(ui, state, i18n, drafts, intents)),
        Screen::AudioSetup => scrolled(ui, "audio-setup", |ui| {
            audio_setup_ui(ui, state, i18n, levels, intents);
        }),
        Screen::BeforeJoin => scrolled(ui, "before-join", |ui| {
            before_join_ui(ui, state, i18n, levels, drafts, intents);
        }),
        Screen::Call => call_ui(ui, state, i18n, drafts, intents),
        Screen::Settings => scrolled(ui, "settings", |ui| {
            settings_ui(ui, state, i18n, levels, intents);
        }),
    }
}

/// The egui key named `name` (as stored in the settings), if there is one.
pub fn shortcut_key(name: &str) -> Option<Key> {
    Key::from_name(name)
}

/// Applies the theme and text size of `settings` to the window. Cheap when they are already
/// applied (no repaint is requested then), so the glue calls it before each frame. The text
/// size is the zoom factor; egui's own Ctrl+Plus/Minus zoom is turned off so that the setting
/// stays the one size in force.
pub fn apply_appearance(ctx: &egui::Context, settings: &Settings) {
    let theme = match settings.theme {
        Theme::System => egui::ThemePreference::System,
        Theme::Light => egui::ThemePreference::Light,
        Theme::Dark => egui::ThemePreference::Dark,
    };
    if ctx.options(|o| o.theme_preference) != theme {
        ctx.set_theme(theme);
    }
    // Does nothing (and asks for no repaint) when the zoom is this one already.
    ctx.set_zoom_factor(settings.text_size_percent as f32 / 100.0);
    if ctx.options(|o| o.zoom_with_keyboard) {
        ctx.options_mut(|o| o.zoom_with_keyboard = false);
    }
}

/// Ctrl and the chosen key mute or unmute in a call, unless a text field is being typed in.
/// Held keys (repeats) do not toggle again.
fn mute_shortcut(ui: &Ui, state: &WindowState, intents: &mut Vec<Intent>) {
    if !state.in_call() || state.call.leaving {
        return;
    }
    let Some(key) = shortcut_key(&state.settings.mute_key) else {
        return;
    };
    if ui.ctx().text_edit_focused() {
        return;
    }
    let pressed = ui.input(|i| {
        i.events.iter().any(|event| {
            matches!(
                event,
                egui::Event::Key {
                    key: pressed,
                    pressed: true,
                    repeat: false,
                    modifiers,
                    ..
                } if *pressed == key && modifiers.matches_logically(egui::Modifiers::CTRL)
            )
        })
    });
    if pressed {
        intents.push(Intent::Mute(!state.call.muted));
    }
}

/// A key's name as shown: "Space" in the user's language, the others as written on keys.
fn key_label(i18n: &I18n, name: &str) -> String {
    match name {
        "Space" => i18n.tr("key-space"),
        other => other.to_owned(),
    }
}

/// The mute shortcut as shown ("Ctrl+M"), or `None` when it is off.
fn mute_shortcut_label(i18n: &I18n, name: &str) -> Option<String> {
    (!name.is_empty()).then(|| {
        i18n.tr_args(
            "shortcut-ctrl",
            &[("key", FluentValue::from(key_label(i18n, name)))],
        )
    })
}

/// A vertical scroll area filling the window.
fn scrolled(ui: &mut Ui, id: &str, add: impl FnOnce(&mut Ui)) {
    egui::ScrollArea::vertical()
        .id_salt(id)
        .auto_shrink([false, false])
        .show(ui, add);
}

/// The start: the link field, favourites, recent rooms, the directory, and the way to the
/// audio set-up.
fn home_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    ui.heading(i18n.tr("home-heading"));
    ui.label(i18n.tr("home-intro"));
    ui.add_space(6.0);
    notices_ui(ui, state, i18n, intents);
    ui.add_space(6.0);

    let label = ui.label(i18n.tr("link-label"));
    ui.horizontal(|ui| {
        let width = (ui.available_width() - 100.0).max(200.0);
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut drafts.link)
                    .hint_text(i18n.tr("link-hint"))
                    .desired_width(width),
            )
            .labelled_by(label.id);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let has_text = !drafts.link.trim().is_empty();
        let clicked = ui
            .add_enabled(has_text, egui::Button::new(i18n.tr("link-open")))
            .clicked();
        if has_text && (entered || clicked) {
            intents.push(Intent::OpenLink(drafts.link.trim().to_owned()));
        }
    });
    link_error_ui(ui, state, i18n, intents);
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        if ui.button(i18n.tr("audio-setup-open")).clicked() {
            intents.push(Intent::OpenAudioSetup);
        }
        if ui.button(i18n.tr("settings-open")).clicked() {
            intents.push(Intent::OpenSettings);
        }
    });

    ui.add_space(8.0);
    ui.separator();
    ui.strong(i18n.tr("favourites-heading"));
    if state.settings.favourites.is_empty() {
        ui.weak(i18n.tr("favourites-empty"));
    }
    for (index, link) in state.settings.favourites.iter().enumerate() {
        saved_link_ui(ui, ("favourite", index), link, true, i18n, intents);
    }

    ui.add_space(8.0);
    ui.strong(i18n.tr("recent-heading"));
    if state.settings.recent_rooms.is_empty() {
        ui.weak(i18n.tr("recent-empty"));
    }
    for (index, link) in state.settings.recent_rooms.iter().enumerate() {
        let favourite = state.is_favourite(link);
        saved_link_ui(ui, ("recent", index), link, favourite, i18n, intents);
    }

    ui.add_space(8.0);
    own_servers_ui(ui, state, i18n, drafts, intents);

    ui.add_space(8.0);
    ui.separator();
    directory_ui(ui, state, i18n, drafts, intents);
}

/// The servers the user added, and the form to add one ("add your own").
fn own_servers_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    ui.strong(i18n.tr("own-servers-heading"));
    if state.settings.own_servers.is_empty() {
        ui.weak(i18n.tr("own-servers-empty"));
    }
    for (index, server) in state.settings.own_servers.iter().enumerate() {
        ui.push_id(("own-server", index), |ui| {
            ui.horizontal_wrapped(|ui| {
                let named = [("name", FluentValue::from(server.name.as_str()))];
                if ui
                    .button(i18n.tr("link-open"))
                    .accessible_name(i18n.tr_args("open-named", &named))
                    .clicked()
                {
                    intents.push(Intent::OpenLink(server.link()));
                }
                ui.label(egui::RichText::new(&server.name).strong());
                ui.weak(format!(
                    "{} · {}",
                    server.host,
                    protocol_name(i18n, server.protocol)
                ));
                if ui
                    .small_button(i18n.tr("own-server-remove"))
                    .accessible_name(i18n.tr_args("own-server-remove-named", &named))
                    .clicked()
                {
                    intents.push(Intent::RemoveOwnServer(index));
                }
            });
        });
    }
    if drafts.own_added_seen != state.own_servers_added {
        drafts.own_added_seen = state.own_servers_added;
        drafts.own_name.clear();
        drafts.own_address.clear();
    }
    egui::CollapsingHeader::new(i18n.tr("own-server-add-heading"))
        .id_salt("own-server-add")
        .show(ui, |ui| {
            let mut add = false;
            ui.horizontal_wrapped(|ui| {
                let label = ui.label(i18n.tr("own-server-name-label"));
                ui.add(
                    egui::TextEdit::singleline(&mut drafts.own_name)
                        .hint_text(i18n.tr("own-server-name-hint"))
                        .desired_width(160.0),
                )
                .labelled_by(label.id);
                let label = ui.label(i18n.tr("own-server-address-label"));
                let address = ui
                    .add(
                        egui::TextEdit::singleline(&mut drafts.own_address)
                            .hint_text(i18n.tr("own-server-address-hint"))
                            .desired_width(240.0),
                    )
                    .labelled_by(label.id);
                add |= address.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            });
            ui.horizontal_wrapped(|ui| {
                let label = ui.label(i18n.tr("own-server-protocol-label"));
                let protocol = drafts.own_protocol.unwrap_or(Protocol::Mumble);
                let name = |protocol| protocol_name(i18n, protocol);
                egui::ComboBox::from_id_salt("own-server-protocol")
                    .selected_text(name(protocol))
                    .show_ui(ui, |ui| {
                        for choice in [Protocol::Mumble, Protocol::Jitsi] {
                            if ui
                                .selectable_label(protocol == choice, name(choice))
                                .clicked()
                            {
                                drafts.own_protocol = Some(choice);
                            }
                        }
                    })
                    .response
                    .labelled_by(label.id);
                add |= ui.button(i18n.tr("own-server-add")).clicked();
            });
            ui.weak(i18n.tr("own-server-hint"));
            if let Some(error) = &state.own_server_error {
                let text = match error {
                    directory::OwnServerError::NoAddress => i18n.tr("own-server-no-address"),
                    directory::OwnServerError::NotAnAddress(address) => i18n.tr_args(
                        "own-server-not-an-address",
                        &[("address", FluentValue::from(address.as_str()))],
                    ),
                    directory::OwnServerError::AlreadyThere(host) => i18n.tr_args(
                        "own-server-already-there",
                        &[("host", FluentValue::from(host.as_str()))],
                    ),
                    directory::OwnServerError::Full => i18n.tr_args(
                        "own-server-full",
                        &[("max", FluentValue::from(directory::MAX_OWN_SERVERS))],
                    ),
                };
                ui.colored_label(ui.visuals().error_fg_color, text);
            }
            if add {
                intents.push(Intent::AddOwnServer {
                    name: drafts.own_name.clone(),
                    protocol: drafts.own_protocol.unwrap_or(Protocol::Mumble),
                    address: drafts.own_address.clone(),
                });
            }
        });
}

/// The link error, if any, in a framed box.
fn link_error_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    if let Some(reason) = &state.link_error {
        let text = i18n.tr_args(
            "link-error",
            &[("reason", FluentValue::from(i18n.say(reason)))],
        );
        if notice_ui(
            ui,
            ui.visuals().error_fg_color,
            &i18n.tr("link-error-heading"),
            &text,
            Some(&i18n.tr("dismiss")),
        ) {
            intents.push(Intent::DismissLinkError);
        }
    }
}

/// One favourite or recent room: its title, the link, "Open" and the favourite toggle.
fn saved_link_ui(
    ui: &mut Ui,
    id: (&str, usize),
    link: &str,
    favourite: bool,
    i18n: &I18n,
    intents: &mut Vec<Intent>,
) {
    ui.push_id(id, |ui| {
        ui.horizontal_wrapped(|ui| {
            let title = match crate::link::parse(link) {
                Ok(parsed) => title_text(i18n, &parsed.title()),
                Err(_) => link.to_owned(),
            };
            if ui
                .button(i18n.tr("link-open"))
                .accessible_name(
                    i18n.tr_args("open-named", &[("name", FluentValue::from(title.as_str()))]),
                )
                .clicked()
            {
                intents.push(Intent::OpenLink(link.to_owned()));
            }
            if favourite_button_ui(ui, favourite, &title, i18n) {
                intents.push(Intent::ToggleFavourite(link.to_owned()));
            }
            ui.label(egui::RichText::new(&title).strong());
            ui.weak(link);
        });
    });
}

/// The star that adds to or removes from the favourites; returns whether it was clicked. Drawn,
/// not a glyph: the bundled font has no star.
fn favourite_button_ui(ui: &mut Ui, favourite: bool, name: &str, i18n: &I18n) -> bool {
    let (key, hover) = if favourite {
        ("favourite-remove", "favourite-remove-named")
    } else {
        ("favourite-add", "favourite-add-named")
    };
    let hover = i18n.tr_args(hover, &[("name", FluentValue::from(name))]);
    let size = ui.spacing().interact_size.y;
    let response = ui
        .add(
            egui::Button::new("")
                .selected(favourite)
                .min_size(egui::vec2(size, size)),
        )
        .accessible_name(i18n.tr(key))
        .on_hover_text(hover);
    if ui.is_rect_visible(response.rect) {
        let color = if favourite {
            Color32::from_rgb(230, 170, 30)
        } else {
            ui.visuals().widgets.inactive.fg_stroke.color
        };
        let center = response.rect.center();
        let outer = size * 0.36;
        let inner = outer * 0.45;
        let points: Vec<egui::Pos2> = (0..10)
            .map(|i| {
                let angle = std::f32::consts::PI * (i as f32 / 5.0) - std::f32::consts::FRAC_PI_2;
                let radius = if i % 2 == 0 { outer } else { inner };
                center + radius * egui::vec2(angle.cos(), angle.sin())
            })
            .collect();
        let painter = ui.painter();
        if favourite {
            // The star is not convex: fill each point's triangle and the centre.
            for i in (0..10).step_by(2) {
                let before = points[(i + 9) % 10];
                let after = points[(i + 1) % 10];
                painter.add(egui::Shape::convex_polygon(
                    vec![before, points[i], after],
                    color,
                    Stroke::NONE,
                ));
            }
            let centre: Vec<_> = points.iter().skip(1).step_by(2).copied().collect();
            painter.add(egui::Shape::convex_polygon(centre, color, Stroke::NONE));
        }
        painter.add(egui::Shape::closed_line(points, Stroke::new(1.5, color)));
    }
    response.clicked()
}

/// "Name — host", or just the host when they are the same.
fn title_text(i18n: &I18n, (name, host): &(String, String)) -> String {
    if name == host {
        host.clone()
    } else {
        i18n.tr_args(
            "title-with-host",
            &[
                ("name", FluentValue::from(name.as_str())),
                ("host", FluentValue::from(host.as_str())),
            ],
        )
    }
}

/// The instance directory: search, protocol filter and the matching hosts.
fn directory_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    ui.strong(i18n.tr("directory-heading"));
    ui.weak(i18n.tr("directory-intro"));
    ui.horizontal_wrapped(|ui| {
        let label = ui.label(i18n.tr("directory-search-label"));
        ui.add(
            egui::TextEdit::singleline(&mut drafts.search)
                .hint_text(i18n.tr("directory-search-hint"))
                .desired_width(220.0),
        )
        .labelled_by(label.id);
        let label = ui.label(i18n.tr("directory-protocol-label"));
        let name = |protocol: Option<Protocol>| match protocol {
            None => i18n.tr("protocol-all"),
            Some(protocol) => protocol_name(i18n, protocol),
        };
        egui::ComboBox::from_id_salt("directory-protocol")
            .selected_text(name(drafts.protocol))
            .show_ui(ui, |ui| {
                for protocol in [None, Some(Protocol::Jitsi), Some(Protocol::Mumble)] {
                    ui.selectable_value(&mut drafts.protocol, protocol, name(protocol));
                }
            })
            .response
            .labelled_by(label.id);
    });
    ui.add_space(4.0);
    let found = directory::search(&state.directory, &drafts.search, drafts.protocol, |kind| {
        organisation_kind(i18n, kind)
    });
    if found.is_empty() {
        ui.weak(i18n.tr("directory-none"));
    }
    for (index, instance) in found.into_iter().enumerate() {
        ui.push_id(("instance", index, &instance.host), |ui| {
            instance_ui(ui, state, instance, i18n, intents);
        });
    }
}

/// One directory entry.
fn instance_ui(
    ui: &mut Ui,
    state: &WindowState,
    instance: &Instance,
    i18n: &I18n,
    intents: &mut Vec<Intent>,
) {
    let link = instance.link();
    ui.horizontal_wrapped(|ui| {
        if ui
            .button(i18n.tr("link-open"))
            .accessible_name(i18n.tr_args(
                "open-named",
                &[("name", FluentValue::from(instance.name.as_str()))],
            ))
            .clicked()
        {
            intents.push(Intent::OpenLink(link.clone()));
        }
        if favourite_button_ui(ui, state.is_favourite(&link), &instance.name, i18n) {
            intents.push(Intent::ToggleFavourite(link.clone()));
        }
        ui.label(egui::RichText::new(&instance.name).strong());
        let protocol = protocol_name(i18n, instance.protocol);
        ui.label(i18n.tr_args(
            "instance-details",
            &[
                ("host", FluentValue::from(instance.host.as_str())),
                (
                    "organisation",
                    FluentValue::from(organisation(i18n, instance)),
                ),
                ("country", FluentValue::from(instance.country.as_str())),
                ("protocol", FluentValue::from(protocol)),
            ],
        ));
        if instance.login {
            ui.colored_label(ui.visuals().warn_fg_color, i18n.tr("instance-login"));
        }
        match state.probes.get(&link) {
            None => {
                if !instance.confirmed {
                    ui.weak(i18n.tr("instance-unconfirmed"))
                        .on_hover_text(i18n.tr("instance-unconfirmed-hint"));
                }
                if ui
                    .small_button(i18n.tr("instance-check"))
                    .accessible_name(i18n.tr_args(
                        "instance-check-named",
                        &[("name", FluentValue::from(instance.name.as_str()))],
                    ))
                    .clicked()
                {
                    intents.push(Intent::CheckInstance(link.clone()));
                }
            }
            Some(Availability::Checking) => {
                ui.weak(i18n.tr("instance-checking"));
            }
            Some(Availability::Known(Probe::Up { rtt_ms, users })) => {
                let text = match users {
                    Some((users, max)) => i18n.tr_args(
                        "instance-up-users",
                        &[
                            ("ms", FluentValue::from(*rtt_ms)),
                            ("users", FluentValue::from(*users)),
                            ("max", FluentValue::from(*max)),
                        ],
                    ),
                    None => i18n.tr_args("instance-up", &[("ms", FluentValue::from(*rtt_ms))]),
                };
                ui.label(text);
            }
            Some(Availability::Known(Probe::Down(reason))) => {
                ui.colored_label(ui.visuals().warn_fg_color, i18n.tr("instance-down"))
                    .on_hover_text(i18n.say(reason));
            }
        }
    });
}

/// The audio set-up screen: devices, level, processing, echo test.
fn audio_setup_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    levels: Levels,
    intents: &mut Vec<Intent>,
) {
    if ui.button(i18n.tr("back")).clicked() {
        intents.push(Intent::GoHome);
    }
    ui.heading(i18n.tr("heading"));
    ui.label(i18n.tr("intro"));
    ui.add_space(6.0);
    notices_ui(ui, state, i18n, intents);
    ui.add_space(6.0);
    ui.columns(2, |columns| {
        // Columns are justified by default, which stretches buttons and text.
        let layout = egui::Layout::top_down(egui::Align::Min);
        if let [left, right] = columns {
            left.with_layout(layout, |ui| {
                devices_ui(ui, state, i18n, true, intents);
                ui.separator();
                level_ui(ui, state, i18n, levels, intents);
            });
            right.with_layout(layout, |ui| {
                processing_ui(ui, state, i18n, intents);
                ui.separator();
                echo_test_ui(ui, state, i18n, intents);
            });
        }
    });
}

/// The form before joining: name, password, devices, level and sound processing.
fn before_join_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    levels: Levels,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    if ui.button(i18n.tr("back")).clicked() {
        intents.push(Intent::GoHome);
    }
    let Some(form) = &state.form else {
        return;
    };
    if drafts.form_id != form.id {
        drafts.form_id = form.id;
        drafts.name = form.name.clone();
        drafts.password = form.password.clone();
        drafts.room.clear();
    }
    ui.heading(title_text(i18n, &form.title));
    if !form.link.is_empty() {
        ui.weak(&form.link);
    }
    notices_ui(ui, state, i18n, intents);
    link_error_ui(ui, state, i18n, intents);
    ui.add_space(6.0);
    if let Target::JitsiServer { base, host } = &form.target {
        jitsi_room_ui(ui, base, host, i18n, drafts, intents);
        return;
    }
    ui.columns(2, |columns| {
        let layout = egui::Layout::top_down(egui::Align::Min);
        if let [left, right] = columns {
            left.with_layout(layout, |ui| {
                join_form_ui(ui, state, form, i18n, drafts, intents);
                ui.separator();
                processing_ui(ui, state, i18n, intents);
            });
            right.with_layout(layout, |ui| {
                devices_ui(ui, state, i18n, true, intents);
                ui.separator();
                level_ui(ui, state, i18n, levels, intents);
            });
        }
    });
}

/// Name, password, audio only, camera, and the Join button.
fn join_form_ui(
    ui: &mut Ui,
    state: &WindowState,
    form: &JoinForm,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    let mut join = false;
    // Reopened for a password: say why, and put the cursor in its field (once per opening).
    let focus_password = match form.asks_password {
        Some(wrong) => {
            let key = if wrong {
                "form-password-wrong"
            } else {
                "form-password-needed"
            };
            ui.colored_label(ui.visuals().warn_fg_color, i18n.tr(key));
            drafts.password_focused != form.id
        }
        None => false,
    };
    egui::Grid::new("join-form")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let label = ui.label(i18n.tr("name-label"));
            let response = ui
                .add(egui::TextEdit::singleline(&mut drafts.name).desired_width(200.0))
                .labelled_by(label.id);
            join |= response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            ui.end_row();
            let label = ui.label(i18n.tr("password-label"));
            let response = ui
                .add(
                    egui::TextEdit::singleline(&mut drafts.password)
                        .password(true)
                        .hint_text(i18n.tr("password-hint"))
                        .desired_width(200.0),
                )
                .labelled_by(label.id);
            if focus_password {
                response.request_focus();
                drafts.password_focused = form.id;
            }
            join |= response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            ui.end_row();
        });
    let video_possible = form.target.carries_video();
    let mut audio_only = state.settings.audio_only || !video_possible;
    let checkbox = ui
        .add_enabled(
            video_possible,
            egui::Checkbox::new(&mut audio_only, i18n.tr("audio-only-checkbox")),
        )
        .on_hover_text(i18n.tr("audio-only-hint"))
        .on_disabled_hover_text(match form.target {
            Target::Mumble(_) => i18n.tr("audio-only-mumble"),
            _ => i18n.tr("audio-only-no-video"),
        });
    if checkbox.changed() {
        intents.push(Intent::AudioOnly(audio_only));
    }
    camera_choice_ui(ui, state, i18n, video_possible && !audio_only, intents);
    ui.add_space(6.0);
    let can_join = form.joinable() && !drafts.name.trim().is_empty() && !state.engine_stopped;
    ui.horizontal(|ui| {
        let button = egui::Button::new(egui::RichText::new(i18n.tr("join")).size(16.0))
            .min_size(egui::vec2(140.0, 32.0));
        join |= ui.add_enabled(can_join, button).clicked();
        if !form.link.is_empty() {
            let favourite = state.is_favourite(&form.link);
            let name = title_text(i18n, &form.title);
            if favourite_button_ui(ui, favourite, &name, i18n) {
                intents.push(Intent::ToggleFavourite(form.link.clone()));
            }
        }
    });
    if form.joinable() && drafts.name.trim().is_empty() {
        ui.weak(i18n.tr("name-needed"));
    }
    if join && can_join {
        intents.push(Intent::Join {
            name: drafts.name.trim().to_owned(),
            password: drafts.password.clone(),
        });
    }
}

/// The camera list: the first camera found, each camera, or the test picture.
fn camera_choice_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    enabled: bool,
    intents: &mut Vec<Intent>,
) {
    let chosen = state.settings.camera.clone();
    let name_of = |id: &Option<String>| match id.as_deref() {
        None => i18n.tr("camera-first"),
        Some(crate::video::camera::TEST_PATTERN) => i18n.tr("camera-test-pattern"),
        Some(id) => state
            .cameras
            .iter()
            .find(|camera| camera.id == id)
            .map_or_else(|| id.to_owned(), |camera| camera.name.clone()),
    };
    ui.horizontal(|ui| {
        let label = ui.label(i18n.tr("camera-label"));
        ui.add_enabled_ui(enabled, |ui| {
            egui::ComboBox::from_id_salt("camera")
                .selected_text(name_of(&chosen))
                .show_ui(ui, |ui| {
                    let mut choices: Vec<Option<String>> = vec![None];
                    choices.extend(state.cameras.iter().map(|camera| Some(camera.id.clone())));
                    choices.push(Some(crate::video::camera::TEST_PATTERN.to_owned()));
                    for choice in choices {
                        let selected = choice == chosen;
                        if ui.selectable_label(selected, name_of(&choice)).clicked() && !selected {
                            intents.push(Intent::SelectCamera(choice));
                        }
                    }
                })
                .response
                .labelled_by(label.id);
        });
        if enabled && state.cameras.is_empty() {
            ui.weak(i18n.tr("camera-none-found"));
        }
    });
}

/// Everyone's camera, as tiles of at most [`crate::video::TILE_WIDTH`] pixels (smaller when the
/// window is narrow).
fn video_tiles_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, drafts: &mut Drafts) {
    let call = &state.call;
    drafts.tiles.keep(&call.videos);
    if call.videos.is_empty() {
        return;
    }
    let width = (crate::video::TILE_WIDTH as f32)
        .min(ui.available_width() / 2.0 - 8.0)
        .max(80.0);
    ui.horizontal_wrapped(|ui| {
        for (id, picture) in &call.videos {
            let name = call
                .participants
                .iter()
                .find(|p| p.id == *id)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            let texture = drafts.tiles.texture(ui.ctx(), *id, picture);
            let height = width * picture.height as f32 / picture.width.max(1) as f32;
            ui.vertical(|ui| {
                let label = i18n.tr_args("video-of", &[("name", FluentValue::from(name.clone()))]);
                ui.add(egui::Image::new(&texture).fit_to_exact_size(egui::vec2(width, height)))
                    .widget_info(|| {
                        egui::WidgetInfo::labeled(egui::Role::Image, true, label.clone())
                    });
                ui.weak(name);
            });
        }
    });
}

/// The room name asked for a Jitsi Meet server given without one.
fn jitsi_room_ui(
    ui: &mut Ui,
    base: &str,
    host: &str,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    ui.label(i18n.tr_args("room-needed", &[("host", FluentValue::from(host))]));
    ui.horizontal(|ui| {
        let label = ui.label(i18n.tr("room-label"));
        let response = ui
            .add(egui::TextEdit::singleline(&mut drafts.room).desired_width(240.0))
            .labelled_by(label.id);
        let entered = response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        let has_room = !drafts.room.trim().is_empty();
        let clicked = ui
            .add_enabled(has_room, egui::Button::new(i18n.tr("room-continue")))
            .clicked();
        if has_room && (entered || clicked) {
            intents.push(Intent::OpenLink(format!("{base}{}", drafts.room.trim())));
        }
    });
}

/// The connection's quality: a coloured dot and its level, with the round trip and the loss
/// when measured.
fn quality_ui(ui: &mut Ui, quality: &Quality, i18n: &I18n) {
    let (level, rtt_ms, loss_percent) = quality.shown();
    let (key, colour) = match level {
        QualityLevel::Unknown => ("quality-unknown", ui.visuals().weak_text_color()),
        QualityLevel::Good => ("quality-good", SPEAKING_GREEN),
        QualityLevel::Fair => ("quality-fair", ui.visuals().warn_fg_color),
        QualityLevel::Poor => ("quality-poor", ui.visuals().error_fg_color),
    };
    let mut text = i18n.tr(key);
    if let Some(ms) = rtt_ms {
        text.push_str(" · ");
        text.push_str(&i18n.tr_args("quality-rtt", &[("ms", FluentValue::from(ms))]));
    }
    if let Some(percent) = loss_percent {
        text.push_str(" · ");
        text.push_str(&i18n.tr_args("quality-loss", &[("percent", FluentValue::from(percent))]));
    }
    ui.horizontal(|ui| {
        let size = ui.text_style_height(&egui::TextStyle::Body) * 0.6;
        let (rect, _) = ui.allocate_exact_size(egui::vec2(size, size), egui::Sense::hover());
        ui.painter()
            .circle_filled(rect.center(), size / 2.0, colour);
        ui.label(text).on_hover_text(i18n.tr("quality-hint"));
    });
}

/// The protocol's name in the window's words.
fn protocol_name(i18n: &I18n, protocol: Protocol) -> String {
    match protocol {
        Protocol::Jitsi => i18n.tr("protocol-jitsi"),
        Protocol::Mumble => i18n.tr("protocol-mumble"),
    }
}

/// What an organisation of the directory is, in the window's words.
fn organisation_kind(i18n: &I18n, kind: directory::OrganisationKind) -> String {
    i18n.tr_args(
        "organisation-kind",
        &[("kind", FluentValue::from(kind.key()))],
    )
}

/// Who runs an instance: its name, what it is and, when local, where.
fn organisation(i18n: &I18n, instance: &Instance) -> String {
    let mut args = vec![
        (
            "organisation",
            FluentValue::from(instance.organisation.as_str()),
        ),
        (
            "kind",
            FluentValue::from(organisation_kind(i18n, instance.kind)),
        ),
    ];
    match &instance.town {
        Some(town) => {
            args.push(("town", FluentValue::from(town.as_str())));
            i18n.tr_args("organisation-described-town", &args)
        }
        None => i18n.tr_args("organisation-described", &args),
    }
}

/// The call: header, controls, participants, chat, notices; or its ending.
fn call_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    let call = &state.call;
    ui.heading(title_text(i18n, &call.title));
    let stage = match &call.stage {
        Stage::Connecting(step) if step.is_empty() => i18n.tr("stage-connecting"),
        Stage::Connecting(step) => i18n.tr_args(
            "stage-connecting-step",
            &[("step", FluentValue::from(i18n.say(step)))],
        ),
        Stage::Connected if call.leaving => i18n.tr("stage-leaving"),
        Stage::Connected => i18n.tr("stage-connected"),
        Stage::Reconnecting {
            attempt,
            seconds,
            reason,
        } => i18n.tr_args(
            "stage-reconnecting",
            &[
                ("seconds", FluentValue::from(*seconds)),
                ("attempt", FluentValue::from(*attempt)),
                ("reason", FluentValue::from(i18n.say(reason))),
            ],
        ),
        Stage::Ended { reason, .. } if reason.is_empty() => i18n.tr("stage-ended-unexpectedly"),
        Stage::Ended { reason, .. } => i18n.tr_args(
            "stage-ended",
            &[("reason", FluentValue::from(i18n.say(reason)))],
        ),
    };
    let (up_kbps, down_kbps, tenths_mb) = call.traffic.shown();
    let traffic = i18n.tr_args(
        "traffic",
        &[
            ("up", FluentValue::from(i18n.number(up_kbps as f64, 0))),
            ("down", FluentValue::from(i18n.number(down_kbps as f64, 0))),
            (
                "total",
                FluentValue::from(i18n.number(tenths_mb as f64 / 10.0, 1)),
            ),
        ],
    );
    ui.horizontal_wrapped(|ui| {
        ui.label(egui::RichText::new(stage).strong());
        ui.weak(traffic);
    });
    if matches!(call.stage, Stage::Connected | Stage::Reconnecting { .. }) {
        quality_ui(ui, &call.traffic.quality, i18n);
    }
    notices_ui(ui, state, i18n, intents);
    for (index, notice) in call.notices.iter().enumerate() {
        ui.push_id(("notice", index), |ui| {
            if notice_ui(
                ui,
                ui.visuals().hyperlink_color,
                &i18n.tr("notice-heading"),
                &i18n.say(notice),
                Some(&i18n.tr("dismiss")),
            ) {
                intents.push(Intent::DismissNotice(index));
            }
        });
    }
    if let Stage::Ended { failed, .. } = &call.stage {
        ui.add_space(8.0);
        if call.certificate_changed.is_some() {
            // The reason above says what changed; the user decides.
            ui.label(i18n.tr("certificate-changed-question"));
            if ui.button(i18n.tr("certificate-trust")).clicked() {
                intents.push(Intent::TrustNewCertificate);
            }
        } else if call.password_needed.is_some() {
            if ui.button(i18n.tr("call-type-password")).clicked() {
                intents.push(Intent::TypePassword);
            }
        } else if *failed {
            ui.label(i18n.tr("call-ended-failed"));
        }
        if ui.button(i18n.tr("back-to-start")).clicked() {
            intents.push(Intent::GoHome);
        }
        ui.add_space(8.0);
        ui.separator();
        participants_ui(ui, state, i18n, false, intents);
        return;
    }
    ui.add_space(4.0);
    call_controls_ui(ui, state, i18n, intents);
    ui.separator();
    if !call.audio_only {
        video_tiles_ui(ui, state, i18n, drafts);
    }
    if call.chat_open {
        ui.columns(2, |columns| {
            let layout = egui::Layout::top_down(egui::Align::Min);
            if let [left, right] = columns {
                left.with_layout(layout, |ui| participants_ui(ui, state, i18n, true, intents));
                right.with_layout(layout, |ui| chat_ui(ui, state, i18n, drafts, intents));
            }
        });
    } else {
        participants_ui(ui, state, i18n, true, intents);
    }
}

/// Mute, deafen (Mumble) or raise hand (Jitsi), chat and leave.
fn call_controls_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    let call = &state.call;
    ui.horizontal_wrapped(|ui| {
        let mute = if call.muted {
            i18n.tr("unmute")
        } else {
            i18n.tr("mute")
        };
        let mut response = ui.add(egui::Button::new(mute).selected(call.muted));
        if let Some(shortcut) = mute_shortcut_label(i18n, &state.settings.mute_key) {
            response = response.on_hover_text(i18n.tr_args(
                "shortcut-hint",
                &[("shortcut", FluentValue::from(shortcut))],
            ));
        }
        if response.clicked() {
            intents.push(Intent::Mute(!call.muted));
        }
        if !call.rooms.is_empty() {
            let deafen = if call.deafened {
                i18n.tr("undeafen")
            } else {
                i18n.tr("deafen")
            };
            if ui
                .add(egui::Button::new(deafen).selected(call.deafened))
                .clicked()
            {
                intents.push(Intent::Deafen(!call.deafened));
            }
        }
        // Back-ends without rooms (Jitsi Meet) have raised hands.
        if call.rooms.is_empty() {
            let hand = if call.hand_raised {
                i18n.tr("lower-hand")
            } else {
                i18n.tr("raise-hand")
            };
            if ui
                .add(egui::Button::new(hand).selected(call.hand_raised))
                .clicked()
            {
                intents.push(Intent::RaiseHand(!call.hand_raised));
            }
        }
        // Jitsi Meet in a build with video: audio only, and the camera outside it.
        if call.video_possible {
            if ui
                .add(egui::Button::new(i18n.tr("audio-only-checkbox")).selected(call.audio_only))
                .on_hover_text(i18n.tr("audio-only-hint"))
                .clicked()
            {
                intents.push(Intent::AudioOnly(!call.audio_only));
            }
            let camera = if call.camera_on {
                i18n.tr("camera-off")
            } else {
                i18n.tr("camera-on")
            };
            if ui
                .add_enabled(
                    !call.audio_only,
                    egui::Button::new(camera).selected(call.camera_on),
                )
                .on_disabled_hover_text(i18n.tr("camera-audio-only"))
                .clicked()
            {
                intents.push(Intent::Camera(!call.camera_on));
            }
        }
        let chat = if call.unread > 0 {
            i18n.tr_args("chat-unread", &[("count", FluentValue::from(call.unread))])
        } else {
            i18n.tr("chat")
        };
        if ui
            .add(egui::Button::new(chat).selected(call.chat_open))
            .clicked()
        {
            intents.push(Intent::ToggleChat);
        }
        if ui.button(i18n.tr("settings-open")).clicked() {
            intents.push(Intent::OpenSettings);
        }
        if ui
            .add_enabled(!call.leaving, egui::Button::new(i18n.tr("leave")))
            .clicked()
        {
            intents.push(Intent::Leave);
        }
    });
}

/// Everyone in the call: the room tree on Mumble, a plain list otherwise.
fn participants_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    active: bool,
    intents: &mut Vec<Intent>,
) {
    let call = &state.call;
    ui.strong(i18n.tr_args(
        "participants-heading",
        &[("count", FluentValue::from(call.participants.len()))],
    ));
    if !call.rooms.is_empty() && active {
        ui.weak(i18n.tr("rooms-hint"));
    }
    egui::ScrollArea::vertical()
        .id_salt("participants")
        .auto_shrink([false, true])
        .show(ui, |ui| {
            let known = |p: &Participant| {
                p.room
                    .is_some_and(|room| call.rooms.iter().any(|r| r.id == room))
            };
            for root in call.rooms.iter().filter(|r| {
                r.parent
                    .is_none_or(|parent| !call.rooms.iter().any(|p| p.id == parent))
            }) {
                room_ui(ui, state, root, 0, i18n, active, intents);
            }
            for participant in call.participants.iter().filter(|p| !known(p)) {
                participant_ui(ui, state, participant, i18n, active, intents);
            }
        });
}

/// One room, its participants and its sub-rooms.
fn room_ui(
    ui: &mut Ui,
    state: &WindowState,
    room: &Room,
    depth: usize,
    i18n: &I18n,
    active: bool,
    intents: &mut Vec<Intent>,
) {
    if depth > MAX_ROOM_DEPTH {
        return;
    }
    let call = &state.call;
    ui.push_id(("room", room.id), |ui| {
        ui.horizontal(|ui| {
            let name = egui::RichText::new(&room.name).strong();
            let response = ui
                .add(
                    egui::Label::new(name)
                        .selectable(false)
                        .sense(Sense::click()),
                )
                .on_hover_text(i18n.tr("room-double-click"));
            if active && response.double_clicked() {
                intents.push(Intent::MoveTo(room.id));
            }
            let here = call
                .participants
                .iter()
                .any(|p| p.you && p.room == Some(room.id));
            if active
                && !here
                && ui
                    .small_button(i18n.tr("room-join"))
                    .accessible_name(i18n.tr_args(
                        "room-join-named",
                        &[("name", FluentValue::from(room.name.as_str()))],
                    ))
                    .clicked()
            {
                intents.push(Intent::MoveTo(room.id));
            }
        });
        ui.indent(("room-content", room.id), |ui| {
            for participant in call.participants.iter().filter(|p| p.room == Some(room.id)) {
                participant_ui(ui, state, participant, i18n, active, intents);
            }
            for child in call
                .rooms
                .iter()
                .filter(|r| r.parent == Some(room.id) && r.id != room.id)
            {
                room_ui(ui, state, child, depth + 1, i18n, active, intents);
            }
        });
    });
}

/// One participant: speaking light, name, "(you)", muted and deafened marks, and a button to
/// write to them privately.
fn participant_ui(
    ui: &mut Ui,
    state: &WindowState,
    participant: &Participant,
    i18n: &I18n,
    active: bool,
    intents: &mut Vec<Intent>,
) {
    let speaking = if participant.you {
        state.call.sending && !state.call.muted
    } else {
        state.call.speaking.contains(&participant.id)
    };
    let name = FluentValue::from(participant.name.as_str());
    ui.horizontal(|ui| {
        let a11y = if speaking {
            i18n.tr_args("participant-speaking", &[("name", name.clone())])
        } else {
            i18n.tr_args("participant-silent", &[("name", name.clone())])
        };
        let response = speaking_light_ui(ui, speaking);
        response.widget_info(|| WidgetInfo::labeled(Role::Image, true, &a11y));
        let text = if participant.you {
            i18n.tr_args("participant-you", &[("name", name.clone())])
        } else {
            participant.name.clone()
        };
        ui.label(text);
        if participant.deafened {
            ui.weak(i18n.tr("participant-deafened"));
        } else if participant.muted {
            ui.weak(i18n.tr("participant-muted"));
        }
        if participant.hand_raised {
            ui.weak(i18n.tr("participant-hand"));
        }
        if active
            && !participant.you
            && ui
                .small_button(i18n.tr("participant-write"))
                .accessible_name(i18n.tr_args("participant-write-named", &[("name", name)]))
                .clicked()
        {
            intents.push(Intent::ChatTo(Some(participant.id)));
        }
    });
}

/// The chat panel: messages, the field and Send.
fn chat_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    drafts: &mut Drafts,
    intents: &mut Vec<Intent>,
) {
    ui.strong(i18n.tr("chat-heading"));
    let recipient = state
        .call
        .chat_to
        .and_then(|id| state.call.participants.iter().find(|p| p.id == id));
    if let Some(recipient) = recipient {
        ui.horizontal_wrapped(|ui| {
            ui.label(i18n.tr_args(
                "chat-to-private",
                &[("name", FluentValue::from(recipient.name.as_str()))],
            ));
            if ui.small_button(i18n.tr("chat-to-everyone")).clicked() {
                intents.push(Intent::ChatTo(None));
            }
        });
    }
    let mut send = false;
    ui.horizontal(|ui| {
        let width = (ui.available_width() - 80.0).max(120.0);
        let response = ui
            .add(
                egui::TextEdit::singleline(&mut drafts.chat)
                    .hint_text(i18n.tr("chat-hint"))
                    .desired_width(width),
            )
            .accessible_name(i18n.tr("chat-message-label"));
        if response.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
            send = true;
            response.request_focus();
        }
        send |= ui.button(i18n.tr("chat-send")).clicked();
    });
    if send && !drafts.chat.trim().is_empty() {
        intents.push(Intent::SendChat(std::mem::take(&mut drafts.chat)));
    }
    egui::ScrollArea::vertical()
        .id_salt("chat")
        .auto_shrink([false, true])
        .stick_to_bottom(true)
        .show(ui, |ui| {
            if state.call.chat.is_empty() {
                ui.weak(i18n.tr("chat-empty"));
            }
            for message in &state.call.chat {
                let key = match (message.own, message.private) {
                    (true, _) => "chat-own",
                    (false, true) => "chat-private",
                    (false, false) => "chat-from",
                };
                let from = i18n.tr_args(key, &[("name", FluentValue::from(message.from.as_str()))]);
                ui.horizontal_wrapped(|ui| {
                    ui.label(egui::RichText::new(from).strong());
                    ui.label(&message.text);
                });
            }
        });
}

/// Warnings and errors, each in a framed box with a "Dismiss" button.
fn notices_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    let warn = ui.visuals().warn_fg_color;
    let error = ui.visuals().error_fg_color;
    if let Some(warning) = &state.config_warning
        && notice_ui(
            ui,
            warn,
            &i18n.tr("settings-heading"),
            warning,
            Some(&i18n.tr("dismiss")),
        )
    {
        intents.push(Intent::DismissConfigWarning);
    }
    if !state.can_save {
        notice_ui(
            ui,
            warn,
            &i18n.tr("settings-heading"),
            &i18n.tr("settings-no-dir"),
            None,
        );
    }
    if let Some(reason) = &state.save_error {
        let text = i18n.tr_args(
            "settings-save-failed",
            &[("reason", FluentValue::from(i18n.say(reason)))],
        );
        notice_ui(ui, error, &i18n.tr("settings-heading"), &text, None);
    }
    if state.engine_stopped {
        notice_ui(
            ui,
            error,
            &i18n.tr("error-heading"),
            &i18n.tr("engine-stopped"),
            None,
        );
    }
    if let Some(lost) = &state.device_lost {
        let text = match &lost.fallback {
            Some(fallback) => i18n.tr_args(
                "device-lost-fallback",
                &[
                    ("name", FluentValue::from(lost.name.as_str())),
                    ("fallback", FluentValue::from(fallback.as_str())),
                ],
            ),
            None => i18n.tr_args(
                "device-lost-none",
                &[("name", FluentValue::from(lost.name.as_str()))],
            ),
        };
        if notice_ui(
            ui,
            warn,
            &i18n.tr("error-heading"),
            &text,
            Some(&i18n.tr("dismiss")),
        ) {
            intents.push(Intent::DismissDeviceLost);
        }
    }
    if let Some(audio_error) = &state.last_error {
        let text = i18n.audio_error(audio_error);
        if notice_ui(
            ui,
            error,
            &i18n.tr("error-heading"),
            &text,
            Some(&i18n.tr("dismiss")),
        ) {
            intents.push(Intent::DismissError);
        }
    }
}

/// One framed notice; returns whether its dismiss button was clicked.
fn notice_ui(
    ui: &mut Ui,
    color: Color32,
    heading: &str,
    text: &str,
    dismiss: Option<&str>,
) -> bool {
    let mut dismissed = false;
    egui::Frame::group(ui.style())
        .stroke(Stroke::new(1.5, color))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.colored_label(color, egui::RichText::new(heading).strong());
                if let Some(dismiss) = dismiss {
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        dismissed = ui.button(dismiss).clicked();
                    });
                }
            });
            ui.label(text);
        });
    dismissed
}

/// The language picker (when `language` is set: the settings screen has its own) and the
/// device pickers.
fn devices_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    language: bool,
    intents: &mut Vec<Intent>,
) {
    // Measured outside the grid: inside a cell, the available width ignores the label column,
    // and a too-wide combo box would widen both columns of the window.
    let combo_width = (ui.available_width() - 120.0).clamp(140.0, 300.0);
    egui::Grid::new("devices")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            if language {
                language_row_ui(ui, state, i18n, intents);
            }

            let label = ui.label(i18n.tr("input-device-label"));
            let selected = state.settings.input_device.as_deref();
            if let Some(choice) = device_combo_ui(
                ui,
                "input-device",
                label.id,
                combo_width,
                &state.inputs,
                selected,
                i18n,
            ) {
                intents.push(Intent::SelectInput(choice));
            }
            ui.end_row();

            let label = ui.label(i18n.tr("output-device-label"));
            let selected = state.settings.output_device.as_deref();
            if let Some(choice) = device_combo_ui(
                ui,
                "output-device",
                label.id,
                combo_width,
                &state.outputs,
                selected,
                i18n,
            ) {
                intents.push(Intent::SelectOutput(choice));
            }
            ui.end_row();
        });
    ui.horizontal_wrapped(|ui| {
        if ui.button(i18n.tr("device-refresh")).clicked() {
            intents.push(Intent::RefreshDevices);
        }
        if ui
            .add_enabled(
                !state.engine_stopped,
                egui::Button::new(i18n.tr("test-sound-play")),
            )
            .clicked()
        {
            intents.push(Intent::PlayTestSound);
        }
    });
    let input = match &state.input_opened {
        Some(name) => i18n.tr_args(
            "input-opened",
            &[("name", FluentValue::from(name.as_str()))],
        ),
        None => i18n.tr("input-not-open"),
    };
    ui.weak(input);
    let output = match &state.output_opened {
        Some(name) => i18n.tr_args(
            "output-opened",
            &[("name", FluentValue::from(name.as_str()))],
        ),
        None => i18n.tr("output-not-open"),
    };
    ui.weak(output);
}

/// The language label and picker, as one grid row.
fn language_row_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    let label = ui.label(i18n.tr("language-label"));
    let current = state.settings.language;
    let language_name = |language: Language| match language {
        Language::System => i18n.tr("language-system"),
        Language::En => i18n.tr("language-en"),
        Language::Fr => i18n.tr("language-fr"),
    };
    egui::ComboBox::from_id_salt("language")
        .selected_text(language_name(current))
        .show_ui(ui, |ui| {
            for language in [Language::System, Language::En, Language::Fr] {
                if ui
                    .selectable_label(current == language, language_name(language))
                    .clicked()
                {
                    intents.push(Intent::SetLanguage(language));
                }
            }
        })
        .response
        .labelled_by(label.id);
    ui.end_row();
}

/// The settings: devices, sound, shortcuts, then language, theme and text size. One column, so
/// that it reads in order with a screen reader and holds at 200 % text in the smallest window.
fn settings_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    levels: Levels,
    intents: &mut Vec<Intent>,
) {
    if ui.button(i18n.tr("back")).clicked() {
        intents.push(Intent::CloseSettings);
    }
    ui.heading(i18n.tr("settings-screen-heading"));
    notices_ui(ui, state, i18n, intents);
    // Lines longer than this are hard to read; the window may be much wider.
    ui.set_max_width(720.0);

    section_heading_ui(ui, &i18n.tr("settings-devices-heading"));
    devices_ui(ui, state, i18n, false, intents);
    ui.separator();

    section_heading_ui(ui, &i18n.tr("settings-audio-heading"));
    processing_ui(ui, state, i18n, intents);
    ui.add_space(6.0);
    level_ui(ui, state, i18n, levels, intents);
    ui.separator();

    section_heading_ui(ui, &i18n.tr("shortcuts-heading"));
    shortcuts_ui(ui, state, i18n, intents);
    ui.separator();

    section_heading_ui(ui, &i18n.tr("appearance-heading"));
    appearance_ui(ui, state, i18n, intents);
}

/// A section title on the settings screen.
fn section_heading_ui(ui: &mut Ui, text: &str) {
    ui.add_space(6.0);
    ui.label(egui::RichText::new(text).size(16.0).strong());
    ui.add_space(2.0);
}

/// The push-to-talk key and the mute shortcut.
fn shortcuts_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    let settings = &state.settings;
    egui::Grid::new("shortcuts")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
            let label = ui.label(i18n.tr("push-to-talk-key-label"));
            egui::ComboBox::from_id_salt("push-to-talk-key")
                .selected_text(key_label(i18n, &settings.push_to_talk_key))
                .show_ui(ui, |ui| {
                    for key in PUSH_TO_TALK_KEYS {
                        if ui
                            .selectable_label(
                                settings.push_to_talk_key == key,
                                key_label(i18n, key),
                            )
                            .clicked()
                        {
                            intents.push(Intent::SetPushToTalkKey(key.to_owned()));
                        }
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();

            let label = ui.label(i18n.tr("mute-key-label"));
            let name = |key: &str| {
                mute_shortcut_label(i18n, key).unwrap_or_else(|| i18n.tr("shortcut-off"))
            };
            egui::ComboBox::from_id_salt("mute-key")
                .selected_text(name(&settings.mute_key))
                .show_ui(ui, |ui| {
                    for key in MUTE_KEYS.into_iter().chain([""]) {
                        if ui
                            .selectable_label(settings.mute_key == key, name(key))
                            .clicked()
                        {
                            intents.push(Intent::SetMuteKey(key.to_owned()));
                        }
                    }
                })
                .response
                .labelled_by(label.id);
            ui.end_row();
        });
    ui.weak(i18n.tr("shortcuts-hint"));
}

/// Language, theme and text size.
fn appearance_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    let settings = &state.settings;
    egui::Grid::new("language")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| language_row_ui(ui, state, i18n, intents));
    ui.add_space(6.0);
    ui.label(i18n.tr("theme-label"));
    ui.horizontal_wrapped(|ui| {
        for theme in [Theme::System, Theme::Light, Theme::Dark] {
            let name = match theme {
                Theme::System => i18n.tr("theme-system"),
                Theme::Light => i18n.tr("theme-light"),
                Theme::Dark => i18n.tr("theme-dark"),
            };
            if ui.radio(settings.theme == theme, name).clicked() {
                intents.push(Intent::SetTheme(theme));
            }
        }
    });
    ui.add_space(6.0);
    ui.label(i18n.tr("text-size-label"));
    ui.horizontal_wrapped(|ui| {
        for percent in TEXT_SIZES_PERCENT {
            let text = i18n.tr_args(
                "text-size-percent",
                &[("percent", FluentValue::from(percent))],
            );
            if ui
                .radio(settings.text_size_percent == percent, text)
                .clicked()
            {
                intents.push(Intent::SetTextSize(percent));
            }
        }
    });
    ui.weak(i18n.tr("text-size-hint"));
}

/// A device picker; returns the new choice when the user made one (`Some(None)`: the system
/// default).
fn device_combo_ui(
    ui: &mut Ui,
    id_salt: &str,
    label: egui::Id,
    width: f32,
    devices: &[DeviceInfo],
    selected: Option<&str>,
    i18n: &I18n,
) -> Option<Option<String>> {
    let display = |device: &DeviceInfo| {
        if device.is_default {
            i18n.tr_args(
                "device-default-mark",
                &[("name", FluentValue::from(device.name.as_str()))],
            )
        } else {
            device.name.clone()
        }
    };
    let selected_text = match selected {
        None => i18n.tr("device-system-default"),
        Some(id) => match devices.iter().find(|d| d.id == id) {
            Some(device) => display(device),
            None => i18n.tr_args("device-missing", &[("name", FluentValue::from(id))]),
        },
    };
    let mut choice = None;
    egui::ComboBox::from_id_salt(id_salt)
        .selected_text(selected_text.clone())
        .width(width)
        .truncate()
        .show_ui(ui, |ui| {
            if ui
                .selectable_label(selected.is_none(), i18n.tr("device-system-default"))
                .clicked()
            {
                choice = Some(None);
            }
            for device in devices {
                let is_selected = selected == Some(device.id.as_str());
                if ui.selectable_label(is_selected, display(device)).clicked() {
                    choice = Some(Some(device.id.clone()));
                }
            }
        })
        .response
        .labelled_by(label)
        .on_hover_text(selected_text);
    choice
}

/// The level meter with the gate threshold on it, the threshold slider and the speaking light.
fn level_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    levels: Levels,
    intents: &mut Vec<Intent>,
) {
    let audio = &state.settings.audio;
    ui.strong(i18n.tr("level-heading"));
    let level_text = if levels.input_dbfs <= SILENCE_DBFS + 0.5 {
        i18n.tr("level-silence")
    } else {
        i18n.tr_args(
            "level-value",
            &[(
                "level",
                FluentValue::from(i18n.number(f64::from(levels.input_dbfs), 0)),
            )],
        )
    };
    let a11y = i18n.tr_args(
        "level-a11y",
        &[
            (
                "level",
                FluentValue::from(i18n.number(f64::from(levels.input_dbfs), 0)),
            ),
            (
                "threshold",
                FluentValue::from(i18n.number(f64::from(audio.gate_open_dbfs), 0)),
            ),
        ],
    );
    level_meter_ui(ui, levels, audio, &a11y);
    ui.horizontal(|ui| {
        speaking_light_ui(ui, audio.gate && levels.gate_open);
        let status = if !audio.gate {
            i18n.tr("gate-off")
        } else if levels.gate_open {
            i18n.tr("speaking")
        } else {
            i18n.tr("silent")
        };
        ui.label(status);
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.monospace(level_text);
        });
    });
    ui.add_space(4.0);

    let mut gate = audio.gate;
    if ui.checkbox(&mut gate, i18n.tr("gate-checkbox")).changed() {
        intents.push(Intent::SetAudio {
            audio: AudioSettings {
                gate,
                ..audio.clone()
            },
            commit: true,
        });
    }
    ui.horizontal(|ui| {
        let label = ui.label(i18n.tr("gate-threshold-label"));
        let mut open_dbfs = audio.gate_open_dbfs;
        let slider = egui::Slider::new(&mut open_dbfs, GATE_MIN_DBFS..=GATE_MAX_DBFS)
            .step_by(1.0)
            .fixed_decimals(0)
            .suffix(i18n.tr("decibel-suffix"));
        // Leave room for the value box; the slider then spans most of the meter's width.
        ui.spacing_mut().slider_width = (ui.available_width() - 70.0).max(100.0);
        let response = ui.add_enabled(audio.gate, slider).labelled_by(label.id);
        if response.changed() {
            let mut changed = audio.clone();
            changed.set_gate_open(open_dbfs);
            intents.push(Intent::SetAudio {
                audio: changed,
                commit: !response.dragged(),
            });
        } else if response.drag_stopped() {
            intents.push(Intent::CommitSettings);
        }
    });
    ui.weak(i18n.tr("gate-hint"));
}

/// The horizontal meter: input level from [`METER_MIN_DBFS`] to [`METER_MAX_DBFS`], green while
/// the gate is open, with the open threshold as a bright marker and the close threshold as a
/// faint one.
fn level_meter_ui(ui: &mut Ui, levels: Levels, audio: &AudioSettings, a11y_label: &str) {
    let size = egui::vec2(ui.available_width(), METER_HEIGHT + SCALE_HEIGHT);
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    let level = levels.input_dbfs;
    response.widget_info(|| WidgetInfo {
        value: Some(f64::from(level)),
        ..WidgetInfo::labeled(Role::Meter, true, a11y_label)
    });
    if !ui.is_rect_visible(rect) {
        return;
    }
    let visuals = ui.visuals();
    let bar_rect = Rect::from_min_size(rect.min, egui::vec2(rect.width(), METER_HEIGHT));
    let x_of = |dbfs: f32| {
        let t = ((dbfs - METER_MIN_DBFS) / (METER_MAX_DBFS - METER_MIN_DBFS)).clamp(0.0, 1.0);
        bar_rect.left() + t * bar_rect.width()
    };
    let painter = ui.painter();
    painter.rect_filled(bar_rect, 3.0, visuals.extreme_bg_color);
    let fill = if audio.gate && !levels.gate_open {
        visuals.widgets.inactive.fg_stroke.color.gamma_multiply(0.6)
    } else {
        SPEAKING_GREEN
    };
    let level_rect = Rect::from_min_max(bar_rect.min, egui::pos2(x_of(level), bar_rect.max.y));
    painter.rect_filled(level_rect, 3.0, fill);

    let scale_color = visuals.weak_text_color();
    for dbfs in (-60..=0).step_by(10) {
        let x = x_of(dbfs as f32);
        painter.line_segment(
            [
                egui::pos2(x, bar_rect.max.y - 5.0),
                egui::pos2(x, bar_rect.max.y),
            ],
            Stroke::new(1.0, scale_color),
        );
        let align = match dbfs {
            -60 => Align2::LEFT_TOP,
            0 => Align2::RIGHT_TOP,
            _ => Align2::CENTER_TOP,
        };
        painter.text(
            egui::pos2(x, bar_rect.max.y + 2.0),
            align,
            dbfs.to_string(),
            FontId::proportional(11.0),
            scale_color,
        );
    }
    if audio.gate {
        let marker = visuals.strong_text_color();
        let close_x = x_of(audio.gate_close_dbfs);
        painter.line_segment(
            [
                egui::pos2(close_x, bar_rect.top() + 6.0),
                egui::pos2(close_x, bar_rect.bottom() - 6.0),
            ],
            Stroke::new(1.0, marker.gamma_multiply(0.4)),
        );
        let open_x = x_of(audio.gate_open_dbfs);
        painter.line_segment(
            [
                egui::pos2(open_x, bar_rect.top() - 2.0),
                egui::pos2(open_x, bar_rect.bottom() + 2.0),
            ],
            Stroke::new(3.0, marker),
        );
    }
    painter.rect_stroke(
        bar_rect,
        3.0,
        visuals.widgets.noninteractive.bg_stroke,
        StrokeKind::Inside,
    );
}

/// A round light: filled green while speaking, hollow otherwise.
fn speaking_light_ui(ui: &mut Ui, speaking: bool) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), Sense::hover());
    let color = ui.visuals().weak_text_color();
    if speaking {
        ui.painter()
            .circle_filled(rect.center(), 6.0, SPEAKING_GREEN);
    } else {
        ui.painter()
            .circle_stroke(rect.center(), 5.5, Stroke::new(1.5, color));
    }
    response
}

/// Noise suppression, echo cancellation and the quality preset.
fn processing_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    let audio = &state.settings.audio;
    ui.strong(i18n.tr("processing-heading"));
    let mut changed = audio.clone();
    ui.checkbox(&mut changed.denoise, i18n.tr("denoise-checkbox"));
    ui.checkbox(&mut changed.echo_cancel, i18n.tr("echo-cancel-checkbox"));
    ui.add_space(4.0);
    ui.label(i18n.tr("preset-label"));
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(&mut changed.preset, Preset::Sober, i18n.tr("preset-sober"));
        ui.radio_value(
            &mut changed.preset,
            Preset::Standard,
            i18n.tr("preset-standard"),
        );
        ui.radio_value(&mut changed.preset, Preset::High, i18n.tr("preset-high"));
    });
    ui.add_space(4.0);
    ui.label(i18n.tr("transmit-label"));
    ui.horizontal_wrapped(|ui| {
        ui.radio_value(
            &mut changed.transmit,
            TransmitMode::VoiceActivation,
            i18n.tr("transmit-voice"),
        );
        ui.radio_value(
            &mut changed.transmit,
            TransmitMode::PushToTalk,
            i18n.tr("transmit-push-to-talk"),
        );
    });
    if changed.transmit == TransmitMode::PushToTalk {
        let key_name = &state.settings.push_to_talk_key;
        let hint = if state.global_keys && crate::hotkey::global_keysym(key_name).is_some() {
            "push-to-talk-hint-global"
        } else {
            "push-to-talk-hint"
        };
        let key = key_label(i18n, key_name);
        ui.label(i18n.tr_args(hint, &[("key", FluentValue::from(key))]));
    }
    if changed != *audio {
        intents.push(Intent::SetAudio {
            audio: changed,
            commit: true,
        });
    }
}

/// The echo test button, its status and the last summary.
fn echo_test_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    ui.strong(i18n.tr("echo-test-heading"));
    ui.label(i18n.tr("echo-test-explain"));
    let (text, enabled) = match state.echo {
        EchoPhase::Idle => (i18n.tr("echo-test-start"), true),
        EchoPhase::Starting => (i18n.tr("echo-test-starting"), false),
        EchoPhase::Running => (i18n.tr("echo-test-stop"), true),
        EchoPhase::Stopping => (i18n.tr("echo-test-stopping"), false),
    };
    let button =
        egui::Button::new(egui::RichText::new(text).size(16.0)).min_size(egui::vec2(220.0, 32.0));
    ui.horizontal(|ui| {
        if ui
            .add_enabled(enabled && !state.engine_stopped, button)
            .clicked()
        {
            intents.push(Intent::ToggleEchoTest);
        }
    });
    if state.echo == EchoPhase::Running {
        ui.label(i18n.tr("echo-test-running"));
    }
    if let Some(summary) = &state.last_summary {
        ui.add_space(6.0);
        ui.label(i18n.tr_args(
            "echo-summary-sound",
            &[
                (
                    "seconds",
                    FluentValue::from(i18n.number(summary.seconds, 1)),
                ),
                ("packets", FluentValue::from(summary.packets_sent)),
                (
                    "kilobytes",
                    FluentValue::from(i18n.number(summary.payload_bytes as f64 / 1000.0, 1)),
                ),
            ],
        ));
        ui.label(i18n.tr_args(
            "echo-summary-network",
            &[
                ("lost", FluentValue::from(summary.packets_lost)),
                ("late", FluentValue::from(summary.packets_late)),
                (
                    "recovered",
                    FluentValue::from(summary.packets_recovered_fec),
                ),
                ("concealed", FluentValue::from(summary.frames_concealed)),
            ],
        ));
        ui.label(i18n.tr_args(
            "echo-summary-delay",
            &[
                (
                    "delay",
                    FluentValue::from(i18n.number(summary.chain_delay_ms, 0)),
                ),
                (
                    "jitter",
                    FluentValue::from(i18n.number(summary.mean_jitter_delay_ms, 0)),
                ),
            ],
        ));
    }
}
