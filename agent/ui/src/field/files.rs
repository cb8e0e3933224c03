//! A job's photos, files and the customer's drawn signature on the technician's laptop.
//!
//! An upload (`POST /field/jobs/{id}/files`, a multipart form: the camera or a file) and a
//! drawing (the signature pad's PNG, in the signature and estimate forms) go through
//! `thorbis_media::prepare` (type from the bytes, scaled to the configured edge, metadata
//! dropped, size capped), are kept in the store's blob folder, and only then named in the
//! document by an edit: a committed attachment never points at a blob a crash lost. The
//! blob leaves for the hub with the blob sync, apart from events.
//!
//! `GET /field/jobs/{id}/files/{blob}` serves a blob the job names, from this laptop.

use axum::extract::{Multipart, Path, State};
use axum::response::Response;
use base64::Engine as _;
use maud::{Markup, html};
use thorbis_domain::attachment::{AttachmentKind, BlobRef, MediaType, megabytes};
use thorbis_domain::command::looks_like_card_number;
use thorbis_domain::work_order::WorkOrderEdit;
use thorbis_sync_protocol::BlobId;
use thorbis_web::form::Fields;
use thorbis_web::respond::stored_file;

use super::{Job, author, commit, context, edit_command, job_id};
use crate::access::FieldTech;
use crate::guard::{FIELD as CSRF, token};
use crate::{UiError, UiState};
use thorbis_web::when::when;

/// The form field of a drawn signature: a `data:image/png;base64,` URL.
pub(super) const DRAWING: &str = "drawing";

/// The photos and files section of a job page.
pub(super) fn section(j: &Job) -> Markup {
    let held = &j.held;
    let files: Vec<_> =
        j.view.attachments.iter().filter(|a| a.kind != AttachmentKind::Signature).collect();
    html! {
        section.panel #job-files {
            h2 { "Photos and files" }
            @if files.is_empty() { p.muted { "No photos or files yet." } }
            ul.files #files {
                @for a in &files {
                    li.file data-blob=(a.blob.id) data-held=(held.contains(&a.blob.id)) {
                        @if !held.contains(&a.blob.id) {
                            span.muted { (a.name) " · not on this laptop yet: it arrives at the next contact with the office" }
                        } @else if a.blob.media_type.is_image() {
                            a href={ (j.base) "/files/" (a.blob.id) } {
                                img src={ (j.base) "/files/" (a.blob.id) } alt=(a.name) loading="lazy";
                            }
                        } @else {
                            a href={ (j.base) "/files/" (a.blob.id) } { (a.name) }
                        }
                        span.muted { " " (megabytes(a.blob.bytes)) " · " (author(a.by, j.me)) ", " (when(a.at_ms)) " UTC" }
                    }
                }
            }
            @if j.mine && j.view.status.is_open() {
                // Multipart: the form token rides in the address (the guard reads it there).
                form.stack method="post" enctype="multipart/form-data"
                    action={ (j.base) "/files?" (CSRF) "=" (token()) } {
                    label { "Photo or file (JPEG, PNG or PDF) "
                        input type="file" name="file" id="file-input" accept="image/jpeg,image/png,application/pdf" capture="environment" required;
                    }
                    button.btn.primary #add-file type="submit" { "Attach" }
                }
            }
        }
    }
}

/// The signature pad inside a signing form: shown by the page's script, which puts the
/// drawing in the hidden field; without the script the typed name alone is recorded.
pub(super) fn pad(id: &str) -> Markup {
    html! {
        div.sigpad data-sigpad hidden id=(id) {
            canvas width="600" height="200" aria-label="Signature pad: the customer signs here with a finger or a pen" {}
            input type="hidden" name=(DRAWING) value="";
            button.btn.ghost type="button" data-sigclear { "Clear the signature" }
        }
    }
}

/// The drawn signature posted in `fields`, kept as a blob; `None` if nothing was drawn.
pub(super) async fn drawing(state: &UiState, fields: &Fields) -> Result<Option<BlobRef>, String> {
    let raw = fields.get(DRAWING).trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let png = raw
        .strip_prefix("data:image/png;base64,")
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .ok_or_else(|| {
            "The drawn signature did not arrive whole: clear it and sign again.".to_owned()
        })?;
    keep(state, png, AttachmentKind::Signature).await.map(Some)
}

/// Prepares `upload` as `kind` and keeps it in the blob folder; its reference, or what to
/// tell the technician.
async fn keep(state: &UiState, upload: Vec<u8>, kind: AttachmentKind) -> Result<BlobRef, String> {
    let limits = state.attachments;
    let blobs = state.store.with(|s| s.blobs());
    let kept = tokio::task::spawn_blocking(move || {
        let prepared =
            thorbis_media::prepare(&upload, kind, &limits).map_err(|e| capital(&e.to_string()))?;
        blobs.put(&prepared.bytes).map_err(|e| {
            tracing::error!(error = %e, "keeping an attachment failed");
            "The laptop could not store the file (is its disk full?). Nothing was attached."
                .to_owned()
        })?;
        Ok(prepared.blob)
    })
    .await;
    kept.unwrap_or_else(|_| Err("The file could not be read. Nothing was attached.".to_owned()))
}

fn capital(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect::<String>() + ".")
        .unwrap_or_default()
}

/// `POST /field/jobs/{id}/files`: attaches a photo or a file.
pub(crate) async fn upload(
    State(state): State<UiState>,
    who: FieldTech,
    Path(id): Path<String>,
    mut form: Multipart,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let (me, currency) = context(&state, id).await?;
    let mut file = None;
    let mut read_error = None;
    loop {
        match form.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => {
                let name = field.file_name().unwrap_or("file").to_owned();
                match field.bytes().await {
                    Ok(bytes) => file = Some((name, bytes.to_vec())),
                    Err(e) => read_error = Some(e.body_text()),
                }
            }
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                read_error = Some(e.body_text());
                break;
            }
        }
    }
    let command = match (file, read_error) {
        (_, Some(e)) => Err(format!(
            "The file did not arrive whole ({e}); the largest upload is {}.",
            megabytes(thorbis_media::MAX_UPLOAD_BYTES as u64)
        )),
        (None, None) => Err("Choose a photo or a file first.".to_owned()),
        (Some((name, bytes)), None) => {
            let kind = if MediaType::sniff(&bytes).is_some_and(MediaType::is_image) {
                AttachmentKind::Photo
            } else {
                AttachmentKind::File
            };
            keep(&state, bytes, kind).await.map(|blob| {
                let name = file_name(&name, blob);
                edit_command(&state, me, id, WorkOrderEdit::AddAttachment { blob, kind, name })
            })
        }
    };
    commit(&state, &who, id, currency, command, &Fields::default(), "file").await
}

/// The name an attachment keeps: the uploaded file's, without any folder, within bounds,
/// with the extension of what was kept (a photo kept as JPEG says so).
fn file_name(uploaded: &str, blob: BlobRef) -> String {
    let base = uploaded.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = base.rsplit_once('.').map_or(base, |(stem, _)| stem);
    let stem: String = stem.chars().filter(|c| !c.is_control()).take(80).collect();
    // A camera's name can be a long run of digits (a date and time) that reads as a card
    // number, which is never recorded: such a file takes a name of its own.
    let stem = if stem.trim().is_empty() || looks_like_card_number(&stem) {
        format!("file-{}", &blob.id.to_string()[..8])
    } else {
        stem.trim().to_owned()
    };
    format!("{stem}.{}", blob.media_type.extension())
}

/// `GET /field/jobs/{id}/files/{blob}`: a blob the job names, from this laptop.
pub(crate) async fn serve(
    State(state): State<UiState>,
    _who: FieldTech,
    Path((id, blob)): Path<(String, String)>,
) -> Result<Response, UiError> {
    let id = job_id(&id)?;
    let blob: BlobId = blob.parse().map_err(|_| UiError::NotFound)?;
    let (view, blobs) = state.with_store(move |s| Ok((s.work_order(id)?, s.blobs()))).await?;
    let attachment = view
        .and_then(|v| v.attachments.into_iter().find(|a| a.blob.id == blob))
        .ok_or(UiError::NotFound)?;
    let bytes = tokio::task::spawn_blocking(move || blobs.get(blob))
        .await
        .map_err(|e| UiError::Internal(e.to_string()))?
        .map_err(|e| UiError::Internal(e.to_string()))?
        .ok_or(UiError::NotFound)?;
    // Bytes from the hub are checked by their hash; their type is checked here.
    if MediaType::sniff(&bytes) != Some(attachment.blob.media_type) {
        return Err(UiError::NotFound);
    }
    let inline = attachment.blob.media_type.is_image();
    Ok(stored_file(bytes, attachment.blob.media_type.as_str(), &attachment.name, inline))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_name_has_no_folder_and_the_kept_type() {
        let blob = BlobRef { id: BlobId::of(b"x"), media_type: MediaType::Jpeg, bytes: 1 };
        assert_eq!(file_name("C:\\Users\\tech\\IMG_0042.PNG", blob), "IMG_0042.jpg");
        assert_eq!(file_name("../../etc/passwd", blob), "passwd.jpg");
        let id = &blob.id.to_string()[..8];
        assert_eq!(file_name("", blob), format!("file-{id}.jpg"));
        assert_eq!(file_name("4111 1111 1111 1111.jpg", blob), format!("file-{id}.jpg"));
    }
}
