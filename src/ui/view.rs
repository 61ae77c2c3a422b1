//! The audio set-up screen: pure views over [`WindowState`] that emit [`Intent`]s.
//!
//! Nothing here changes the state or talks to the engine; every user action becomes an
//! [`Intent`] pushed to `intents`, applied by the glue in `ui/mod.rs` on the next `logic` pass.
//! Every control has a visible label, which egui passes to AccessKit.

use eframe::egui;
use eframe::egui::{
    Align2, Color32, FontId, Rect, Role, Sense, Stroke, StrokeKind, Ui, WidgetInfo,
};

use crate::audio::device::DeviceInfo;
use crate::audio::meter::SILENCE_DBFS;
use crate::config::TransmitMode;
use crate::config::{AudioSettings, GATE_MAX_DBFS, GATE_MIN_DBFS, Language, Preset};
use crate::i18n::{FluentValue, I18n};
use crate::ui::state::{EchoPhase, Intent, WindowState};

/// The live values read from [`crate::audio::Meters`] for one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Levels {
    /// Microphone level, dBFS.
    pub input_dbfs: f32,
    /// Whether the noise gate lets the microphone through.
    pub gate_open: bool,
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

/// The whole screen.
pub fn window_ui(
    ui: &mut Ui,
    state: &WindowState,
    i18n: &I18n,
    levels: Levels,
    intents: &mut Vec<Intent>,
) {
    egui::ScrollArea::vertical()
        .auto_shrink([false, false])
        .show(ui, |ui| {
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
                        devices_ui(ui, state, i18n, intents);
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
            &[("reason", FluentValue::from(reason.as_str()))],
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

/// Language and device pickers.
fn devices_ui(ui: &mut Ui, state: &WindowState, i18n: &I18n, intents: &mut Vec<Intent>) {
    // Measured outside the grid: inside a cell, the available width ignores the label column,
    // and a too-wide combo box would widen both columns of the window.
    let combo_width = (ui.available_width() - 120.0).clamp(140.0, 300.0);
    egui::Grid::new("devices")
        .num_columns(2)
        .spacing([12.0, 8.0])
        .show(ui, |ui| {
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
            .suffix(" dB");
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
fn speaking_light_ui(ui: &mut Ui, speaking: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(14.0, 14.0), Sense::hover());
    let color = ui.visuals().weak_text_color();
    if speaking {
        ui.painter()
            .circle_filled(rect.center(), 6.0, SPEAKING_GREEN);
    } else {
        ui.painter()
            .circle_stroke(rect.center(), 5.5, Stroke::new(1.5, color));
    }
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
        ui.label(i18n.tr("push-to-talk-hint"));
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
