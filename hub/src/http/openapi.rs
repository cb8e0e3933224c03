//! `GET /api/openapi.json`: the API described as `OpenAPI` 3.1, written by hand next to the
//! handlers it describes (a generator crate would cost more build time than this page).

use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } }
    })
}

fn signed_headers() -> Value {
    json!([
        { "name": "x-thorbis-device", "in": "header", "required": true,
          "schema": { "type": "string", "format": "uuid" } },
        { "name": "x-thorbis-timestamp", "in": "header", "required": true,
          "description": "Unix milliseconds; must be within the hub's window of its clock.",
          "schema": { "type": "integer" } },
        { "name": "x-thorbis-nonce", "in": "header", "required": true,
          "description": "16 random bytes, new for every request; a nonce the hub has seen within the window is refused (401).",
          "schema": { "type": "string", "pattern": "^[0-9a-f]{32}$" } },
        { "name": "x-thorbis-signature", "in": "header", "required": true,
          "description": "Hex Ed25519 signature by the device key over b\"thorbis-request-v2\" || method || 0 || path || 0 || timestamp (u64 BE) || nonce || SHA-256(body).",
          "schema": { "type": "string", "pattern": "^[0-9a-f]{128}$" } }
    ])
}

/// The console API's paths: cookie sessions, CSRF header on writes, role per operation.
#[allow(clippy::too_many_lines, reason = "one literal JSON document, clearer whole than split")]
fn console_paths() -> Value {
    // A browser session (CSRF header on writes) or an API token (no CSRF).
    let session = json!([{ "consoleSession": [] }, { "apiToken": [] }]);
    let csrf = json!({ "name": "x-csrf-token", "in": "header", "required": true,
        "description": "The `csrf_token` returned by login, on every state-changing request.",
        "schema": { "type": "string" } });
    let json_body = |schema: Value| json!({ "required": true, "content": { "application/json": { "schema": schema } } });
    let write = |summary: &str,
                 role: &str,
                 body: Option<Value>,
                 ok: &str,
                 extra: &[(&str, &str)]| {
        let mut responses = json!({
            "200": { "description": ok },
            "401": error_response("No valid session."),
            "403": error_response(&format!("Missing or wrong CSRF token, or not {role} or above.")),
        });
        for (code, why) in extra {
            responses[*code] = error_response(why);
        }
        let mut op = json!({ "summary": summary, "security": session, "parameters": [csrf],
                             "responses": responses });
        if let Some(body) = body {
            op["requestBody"] = body;
        }
        json!({ "post": op })
    };
    let mut revoke = write(
        "Revoke a device of the session's tenant.",
        "manager",
        None,
        "`{device_id, revoked_at_ms}`",
        &[("404", "No such device in the session's tenant.")],
    );
    let device_param = json!({ "name": "device_id", "in": "path", "required": true,
        "schema": { "type": "string", "format": "uuid" } });
    revoke["post"]["parameters"] = json!([csrf, device_param]);
    let mut configure = write(
        "Publish a device's whole configuration (name, printers, stations, the floor's tables) as `device.configured` in the reference log.",
        "manager",
        Some(json_body(json!({ "$ref": "#/components/schemas/DeviceConfig" }))),
        "`{device_id, seq}`",
        &[
            ("400", "Invalid configuration or an unknown field."),
            ("404", "No such device in the session's tenant."),
            ("409", "The device is revoked."),
        ],
    );
    configure["post"]["parameters"] = json!([csrf, device_param]);
    let mut deactivate = write(
        "Deactivate a console user: no more sign-ins, open sessions end. Not one's own account.",
        "owner",
        None,
        "`{user_id, active: false}`",
        &[("404", "No such user in the session's tenant."), ("409", "One's own account.")],
    );
    deactivate["post"]["parameters"] = json!([csrf, { "name": "user_id", "in": "path", "required": true,
        "schema": { "type": "string", "format": "uuid" } }]);
    let read = |summary: &str, role: &str, ok: &str| {
        json!({ "get": {
        "summary": summary, "security": session,
        "responses": { "200": { "description": ok }, "401": error_response("No valid session."),
                       "403": error_response(&format!("Not {role} or above.")) } } })
    };
    // A GET whose answer is described by `schema`, over a location's range of local days.
    let range_params = json!([
        { "name": "location", "in": "query", "schema": { "type": "string", "format": "uuid" },
          "description": "The location (default: the first by name)." },
        { "name": "from", "in": "query", "schema": { "type": "string", "format": "date" },
          "description": "First local day, YYYY-MM-DD (default: today at the location)." },
        { "name": "to", "in": "query", "schema": { "type": "string", "format": "date" },
          "description": "Last local day, included; at most 366 days after `from`." }
    ]);
    let get_json = |summary: &str, params: Value, schema: Value| {
        json!({ "get": {
            "summary": summary, "security": session, "parameters": params,
            "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": schema } } },
                "400": error_response("Bad location or dates."),
                "401": error_response("No valid session or token."),
                "404": error_response("No such report or location in this tenant.") } } })
    };
    let mut report_params = range_params.clone();
    if let Some(list) = report_params.as_array_mut() {
        list.insert(0, json!({ "name": "section", "in": "path", "required": true,
            "schema": { "type": "string", "enum": ["summary", "hours", "days", "items", "tenders", "exceptions", "drawers", "quarantined", "stock", "staff"] } }));
    }
    let reads = json!({
        "/api/v1/console/reports/{section}": get_json(
            "A report section over a location's local days (viewer; a read token is enough).",
            report_params,
            json!({ "$ref": "#/components/schemas/ReportSection" })),
        "/api/v1/console/orders": get_json(
            "Closed orders of a location's local days, latest first (at most 1,000).",
            range_params,
            json!({ "type": "object", "required": ["orders", "limit"], "properties": {
                "limit": { "type": "integer" },
                "orders": { "type": "array", "items": { "$ref": "#/components/schemas/OrderRow" } } } })),
        "/api/v1/console/catalog": get_json(
            "The tenant's catalog as the hub last published it.",
            json!([]),
            json!({ "type": "object", "required": ["items", "categories", "modifier_groups"], "properties": {
                "items": { "type": "array", "items": { "$ref": "#/components/schemas/Item" } },
                "categories": { "type": "array", "items": { "type": "object", "required": ["id", "name"],
                    "properties": { "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" },
                                    "position": { "type": "integer" } } } },
                "modifier_groups": { "type": "array", "items": { "$ref": "#/components/schemas/ModifierGroup" } } } })),
    });
    let mut users = write(
        "Add a console user to the session's tenant.",
        "owner",
        Some(json_body(json!({ "$ref": "#/components/schemas/NewConsoleUser" }))),
        "`{user_id, email, role}`",
        &[("400", "Bad email, password or role."), ("409", "The email is taken in this tenant.")],
    );
    users["get"] = read(
        "The session's tenant's console users.",
        "manager",
        "`{users: [{user_id, email, role, active, created_at_ms}]}`",
    )["get"]
        .clone();
    let mut paths = json!({
        "/api/v1/admin/tenants/{tenant_id}/console-users": { "post": {
            "summary": "Add a console user to a tenant (bootstraps the first owner).", "security": [{ "adminToken": [] }],
            "parameters": [{ "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
            "requestBody": json_body(json!({ "$ref": "#/components/schemas/NewConsoleUser" })),
            "responses": { "200": { "description": "`{user_id, email, role}`" }, "400": error_response("Bad email, password or role."),
                           "404": error_response("No such tenant."), "409": error_response("The email is taken in this tenant.") }
        } },
        "/api/v1/console/login": { "post": {
            "summary": "Sign in: sets the HttpOnly, SameSite=Strict session cookie and returns the session's CSRF token.",
            "requestBody": json_body(json!({ "type": "object", "required": ["tenant_id", "email", "password"],
                "properties": { "tenant_id": { "type": "string", "format": "uuid" }, "email": { "type": "string" },
                                "password": { "type": "string" },
                                "totp_code": { "type": "string", "pattern": "^[0-9]{6}$",
                                               "description": "The authenticator app's code, for a user with two-step sign-in on." } } })),
            "responses": { "200": { "description": "`{tenant_id, user_id, email, role, csrf_token, expires_at_ms}` and `Set-Cookie: thorbis_console=...`" },
                           "401": error_response("Wrong tenant, email, password or code, or the account is locked for a minute after 5 failures (one message for all).") }
        } },
        "/api/v1/console/logout": write("Revoke this session and clear its cookie.", "viewer", None, "`{logged_out: true}`", &[]),
        "/api/v1/console/me": { "get": {
            "summary": "The signed-in user.", "security": session,
            "responses": { "200": { "description": "`{tenant_id, user_id, email, role}`" }, "401": error_response("No valid session.") }
        } },
        "/api/v1/console/users": users,
        "/api/v1/console/users/{user_id}/deactivate": deactivate,
        "/api/v1/console/password": write("Change the signed-in user's password; the user's other sessions end.", "viewer",
            Some(json_body(json!({ "type": "object", "required": ["current_password", "new_password"], "additionalProperties": false,
                "properties": { "current_password": { "type": "string" }, "new_password": { "type": "string", "minLength": 12 } } }))),
            "`{changed: true}`", &[("400", "The new password is too short or too long.")]),
        "/api/v1/console/devices": read("The session's tenant's devices with their sync position.", "viewer",
            "`{devices: [{device_id, location_id, role, enrolled_at_ms, credential_expires_at_ms, revoked_at_ms, seq, last_push_at_ms}]}`"),
        "/api/v1/console/devices/{device_id}/config": configure,
        "/api/v1/console/locations": write("Create a location in the session's tenant.", "manager",
            Some(json_body(json!({ "$ref": "#/components/schemas/NewLocation" }))), "`{location_id}`", &[("400", "Bad name, time zone or currency.")]),
        "/api/v1/console/enrollment-codes": write("Create an enrollment code for a location of the session's tenant.", "manager",
            Some(json_body(json!({ "type": "object", "required": ["location_id", "role"],
                "properties": { "location_id": { "type": "string", "format": "uuid" },
                                "role": { "$ref": "#/components/schemas/Role" },
                                "ttl_ms": { "type": "integer", "minimum": 1 } } }))),
            "`{code, expires_at_ms}`", &[("404", "No such location in the session's tenant.")]),
        "/api/v1/console/devices/{device_id}/revoke": revoke,
        "/api/v1/console/reference-events": write("Publish catalog events to the session's tenant's reference-data log.", "manager",
            Some(json_body(json!({ "type": "object", "required": ["events"] }))), "`{device_id, from_seq, to_seq}`",
            &[("400", "Not a catalog event, or a payload invalid for its kind.")]),
        "/api/v1/console/staff": write("Create or update a member of the session's tenant's staff: the hub hashes the PIN (argon2id, OWASP cost, random salt) and publishes a `catalog.staff_upserted` event to the staff logs of the locations where they work.", "manager",
            Some(json_body(json!({ "$ref": "#/components/schemas/StaffUpsert" }))), "`{staff_id, name, role, active, locations, device_id, seq}` (never the PIN or its hash)",
            &[("400", "Empty name, unknown role, a PIN that is not 4 to 8 digits, or a new member without a PIN."),
              ("404", "`staff_id` without `pin` names no staff of the session's tenant, or a location is not the tenant's.")]),
    });
    if let (Value::Object(paths), Value::Object(reads)) = (&mut paths, reads) {
        paths.extend(reads);
    }
    // Locations are listed and created at one path.
    paths["/api/v1/console/locations"]["get"] = get_json(
        "The tenant's locations with their settings.",
        json!([]),
        json!({ "type": "object", "required": ["locations"], "properties": {
            "locations": { "type": "array", "items": { "type": "object", "properties": {
                "location_id": { "type": "string", "format": "uuid" }, "name": { "type": "string" },
                "address": { "type": "string" }, "time_zone": { "type": "string" },
                "currency": { "type": ["string", "null"], "pattern": "^[A-Z]{3}$" },
                "default_tax_bps": { "type": "integer" } } } } } }),
    )["get"]
        .clone();
    paths
}

/// A blob request's parameters: the signed headers, the blob id and (for chunks) the offset.
fn blob_parameters(offset: bool) -> Value {
    let mut parameters = signed_headers();
    if let Value::Array(list) = &mut parameters {
        list.push(json!({ "name": "id", "in": "path", "required": true,
            "schema": { "$ref": "#/components/schemas/Hex32" }, "description": "The blob's SHA-256." }));
        if offset {
            list.push(json!({ "name": "offset", "in": "path", "required": true,
                "schema": { "type": "integer", "minimum": 0 } }));
        }
    }
    parameters
}

/// The document.
#[allow(clippy::too_many_lines, reason = "one literal JSON document, clearer whole than split")]
#[must_use]
pub fn document() -> Value {
    let admin = json!([{ "adminToken": [] }]);
    let errors = |codes: &[(&str, &str)]| -> Value {
        codes
            .iter()
            .map(|(code, why)| ((*code).to_owned(), error_response(why)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut push_responses = errors(&[
        ("400", "Malformed batch or body."),
        (
            "401",
            "Missing or invalid request signature, unknown device, expired credential, replayed request.",
        ),
        ("403", "Revoked device, or events of a device outside the caller's tenant."),
        ("409", "Fork (recorded as an alert), gap after the stored tip, or a concurrent push."),
        ("413", "Body or batch larger than the hub accepts."),
        ("422", "Verification failed: chain link, checkpoint, signature, clock bound, payload."),
        (
            "507",
            "The pushing device's events would exceed its storage quota (recorded as an alert).",
        ),
    ]);
    push_responses["200"] = json!({
        "description": "Stored (or already held).",
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/PushReport" } } }
    });
    let mut pull_responses = errors(&[
        ("400", "Malformed request body."),
        ("401", "Missing or invalid request signature, or a replayed request."),
        ("403", "Revoked device."),
    ]);
    pull_responses["200"] = json!({
        "description": "A page of events with a checkpoint ending each device's run.",
        "headers": {
            "x-thorbis-more": { "schema": { "type": "string", "enum": ["true", "false"] } },
            "x-thorbis-tips": { "description": "What the hub holds of the devices in the caller's scope: `<device>=<seq>` joined by commas.",
                                "schema": { "type": "string" } }
        },
        "content": {
            "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } },
            "application/json": { "schema": { "type": "object", "required": ["batch", "more", "tips"],
                "properties": { "batch": { "$ref": "#/components/schemas/Batch" }, "more": { "type": "boolean" },
                                "tips": { "type": "object", "additionalProperties": { "type": "integer" },
                                          "description": "Version vector: what the hub holds of the devices in the caller's scope." } } } }
        }
    });
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": { "title": "Thorbis Edge hub", "version": "1" },
        "paths": {
            "/healthz": { "get": { "summary": "Database reachable.", "responses": { "200": { "description": "ok" } } } },
            "/metrics": { "get": { "summary": "Prometheus counters, with the admin token as a bearer token.", "responses": { "200": { "description": "Text exposition format." }, "401": { "description": "No or a wrong admin token." } } } },
            "/api/openapi.json": { "get": { "summary": "This document.", "responses": { "200": { "description": "OpenAPI 3.1." } } } },
            "/api/v1/admin/tenants": { "post": {
                "summary": "Create a tenant and its Ed25519 signing key.", "security": admin,
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Named" } } } },
                "responses": { "200": { "description": "`{tenant_id, public_key}`" }, "400": error_response("Bad name."), "401": error_response("Bad token.") }
            } },
            "/api/v1/admin/tenants/{tenant_id}/locations": { "post": {
                "summary": "Create a location.", "security": admin,
                "parameters": [{ "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NewLocation" } } } },
                "responses": { "200": { "description": "`{location_id}`" }, "400": error_response("Bad name, time zone or currency."), "404": error_response("No such tenant.") }
            } },
            "/api/v1/admin/tenants/{tenant_id}/enrollment-codes": { "post": {
                "summary": "Create a one-time, expiring enrollment code (only its hash is stored).", "security": admin,
                "parameters": [{ "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["location_id", "role"],
                    "properties": { "location_id": { "type": "string", "format": "uuid" },
                                    "role": { "$ref": "#/components/schemas/Role" },
                                    "ttl_ms": { "type": "integer", "minimum": 1 } } } } } },
                "responses": { "200": { "description": "`{code, expires_at_ms}`" }, "404": error_response("No such location in the tenant.") }
            } },
            "/api/v1/admin/tenants/{tenant_id}/devices/{device_id}/revoke": { "post": {
                "summary": "Revoke a device: its later pushes and pulls are refused.", "security": admin,
                "parameters": [
                    { "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } },
                    { "name": "device_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "responses": { "200": { "description": "`{device_id, revoked_at_ms}`" }, "404": error_response("No such device in the tenant.") }
            } },
            "/api/v1/admin/tenants/{tenant_id}/devices/{device_id}/config": { "post": {
                "summary": "Publish a device's whole configuration as `device.configured` (as `POST /api/v1/console/devices/{device_id}/config`).",
                "security": admin,
                "parameters": [
                    { "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } },
                    { "name": "device_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/DeviceConfig" } } } },
                "responses": { "200": { "description": "`{device_id, seq}`" },
                               "400": error_response("Invalid configuration or an unknown field."),
                               "404": error_response("No such device in the tenant."),
                               "409": error_response("The device is revoked.") }
            } },
            "/api/v1/admin/tenants/{tenant_id}/reference-events": { "post": {
                "summary": "Publish catalog events to the tenant's reference-data log (device id = tenant id, signed with the tenant key).",
                "security": admin,
                "parameters": [{ "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["events"],
                    "properties": { "events": { "type": "array", "minItems": 1, "maxItems": 1000, "items": {
                        "type": "object", "required": ["kind", "payload"],
                        "properties": { "kind": { "type": "string", "pattern": "^catalog\\." }, "payload": { "type": "object" } } } } } } } } },
                "responses": { "200": { "description": "`{device_id, from_seq, to_seq}`" },
                               "400": error_response("Not a catalog event, or a payload invalid for its kind."),
                               "404": error_response("No such tenant.") }
            } },
            "/api/v1/admin/tenants/{tenant_id}/staff": { "post": {
                "summary": "Create or update a member of the tenant's staff (as `POST /api/v1/console/staff`): the PIN is hashed on the hub and a `catalog.staff_upserted` event published.",
                "security": admin,
                "parameters": [{ "name": "tenant_id", "in": "path", "required": true, "schema": { "type": "string", "format": "uuid" } }],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/StaffUpsert" } } } },
                "responses": { "200": { "description": "`{staff_id, name, role, active, locations, device_id, seq}` (never the PIN or its hash)" },
                               "400": error_response("Empty name, unknown role, a PIN that is not 4 to 8 digits, or a new member without a PIN."),
                               "404": error_response("No such tenant, a location that is not the tenant's, or `staff_id` without `pin` names no staff of the tenant.") }
            } },
            "/api/v1/enroll": { "post": {
                "summary": "Trade an enrollment code and a device public key for a tenant-signed credential.",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["code", "public_key"],
                    "properties": { "code": { "type": "string" }, "public_key": { "$ref": "#/components/schemas/Hex32" } } } } } },
                "responses": {
                    "200": { "description": "`{credential, signature, tenant_public_key, credential_bytes}`; see `thorbis_hub::identity` for the signed layout." },
                    "400": error_response("Malformed request."), "404": error_response("Unknown code."),
                    "409": error_response("Code already used."), "410": error_response("Code expired.")
                }
            } },
            "/api/v1/sync/push": { "post": {
                "summary": "Push a batch of signed events (binary codec, or JSON with Content-Type: application/json).",
                "parameters": signed_headers(),
                "requestBody": { "required": true, "content": {
                    "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } },
                    "application/json": { "schema": { "$ref": "#/components/schemas/Batch" } } } },
                "responses": push_responses
            } },
            "/api/v1/sync/pull": { "post": {
                "summary": "Pull what the device lacks and may see, in pages; optionally long-poll.",
                "parameters": signed_headers(),
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object",
                    "properties": {
                        "have": { "type": "object", "additionalProperties": { "type": "integer" },
                                  "description": "Version vector: device id -> highest contiguous seq held." },
                        "limit": { "type": "integer", "minimum": 1 },
                        "wait_ms": { "type": "integer", "minimum": 0 } } } } } },
                "responses": pull_responses
            } },
            "/api/v1/blobs/{id}/upload": { "get": {
                "summary": "What the hub holds of a blob (photo, drawn signature, file) that one of this device's admitted work order changes names.",
                "parameters": blob_parameters(false),
                "responses": {
                    "200": { "description": "`{received, complete, size}`." },
                    "401": error_response("Unsigned, badly signed, stale or replayed request."),
                    "404": error_response("No admitted change of this device names the blob (yet).")
                }
            } },
            "/api/v1/blobs/{id}/upload/{offset}": { "post": {
                "summary": "Append a chunk (at most 512 KiB) at `offset`; resumable. The blob is complete once its bytes hash to its id.",
                "parameters": blob_parameters(true),
                "requestBody": { "required": true, "content": {
                    "application/octet-stream": { "schema": { "type": "string", "contentMediaType": "application/octet-stream" } } } },
                "responses": {
                    "200": { "description": "`{received, complete, size}` after the chunk." },
                    "400": error_response("Empty chunk, larger than a chunk may be, or past the blob's size."),
                    "401": error_response("Unsigned, badly signed, stale or replayed request."),
                    "404": error_response("No admitted change of this device names the blob (yet)."),
                    "409": { "description": "The offset is not what the hub holds: `{received, complete, size}`; resume there." },
                    "422": error_response("The bytes do not hash to the id; the hub dropped them."),
                    "507": error_response("The tenant's blob quota would be passed.")
                }
            } },
            "/api/v1/blobs/{id}/from/{offset}": { "get": {
                "summary": "Up to 1 MiB of a complete blob from `offset` (header `x-thorbis-blob-size`), for a device a work order assigned to it names the blob.",
                "parameters": blob_parameters(true),
                "responses": {
                    "200": { "description": "The bytes.", "content": { "application/octet-stream": {} } },
                    "401": error_response("Unsigned, badly signed, stale or replayed request."),
                    "404": error_response("No such blob for this device, or not complete at the hub.")
                }
            } }
        },
        "components": {
            "securitySchemes": { "adminToken": { "type": "http", "scheme": "bearer" },
                "consoleSession": { "type": "apiKey", "in": "cookie", "name": "thorbis_console" },
                "apiToken": { "type": "http", "scheme": "bearer",
                    "description": "A console user's API token (`thb_...`, made on the account page): `read` acts as a viewer, `write` as the user." } },
            "schemas": {
                "Error": { "type": "object", "required": ["error"], "properties": { "error": { "type": "string" } } },
                "Named": { "type": "object", "required": ["name"], "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 200 } } },
                "Role": { "type": "string", "enum": ["pos", "kds", "register", "technician"] },
                "Hex32": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                "PushReport": { "type": "object", "properties": {
                    "accepted": { "type": "integer" }, "duplicates": { "type": "integer" },
                    "tips": { "type": "object", "additionalProperties": { "type": "integer" } },
                    "quarantined": { "type": "array", "items": { "type": "object", "properties": {
                        "device": { "type": "string", "format": "uuid" }, "seq": { "type": "integer" },
                        "code": { "type": "string" } } },
                        "description": "Stored facts not folded: their author may not write them, or their values are out of bounds." },
                    "over_quota": { "type": "array", "items": { "type": "string", "format": "uuid" },
                        "description": "Relayed devices whose events were left out: they would exceed the device's storage quota." },
                    "released": { "type": "integer",
                        "description": "Facts of earlier pushes, quarantined for want of something this push brought, folded now." } } },
                "Batch": { "type": "object", "description": "`thorbis_sync_protocol::batch_to_json`: events and checkpoints, ids as UUID strings, hashes, signatures and payloads as hex.",
                    "properties": { "events": { "type": "array", "items": { "type": "object" } },
                                    "checkpoints": { "type": "array", "items": { "type": "object" } } } },
                "NewConsoleUser": { "type": "object", "required": ["email", "password", "role"], "properties": {
                    "email": { "type": "string" }, "password": { "type": "string", "minLength": 12 },
                    "role": { "type": "string", "enum": ["owner", "manager", "viewer"] } } },
                "DeviceConfig": { "type": "object", "required": ["name"], "additionalProperties": false,
                    "properties": { "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                        "stations": { "type": "array", "items": { "type": "string" }, "maxItems": 64 },
                        "currency": { "type": ["object", "null"], "description": "The store's currency: ISO 4217 code and decimals (at most 4). Absent: the terminal's default." },
                        "tables": { "type": "array", "maxItems": 200,
                            "items": { "type": "string", "minLength": 1, "maxLength": 20 } },
                        "printers": { "type": "array", "maxItems": 32, "items": { "type": "object",
                            "required": ["name", "address", "purpose"], "additionalProperties": false,
                            "properties": { "name": { "type": "string" },
                                "address": { "type": "string", "description": "host:port (TCP 9100) or a device path" },
                                "purpose": { "type": "string", "enum": ["receipt", "kitchen"] },
                                "station": { "type": ["string", "null"], "description": "Required for kitchen printers." },
                                "profile": { "type": ["string", "null"] },
                                "backup": { "type": ["string", "null"], "description": "Another printer of this device." } } } } } },
                "StaffUpsert": { "type": "object", "required": ["name", "role", "active"], "additionalProperties": false,
                    "description": "Without `staff_id`: a new member (UUIDv7 id), `pin` required. With it and without `pin`: the current PIN hash is kept.",
                    "properties": {
                        "staff_id": { "type": "string", "format": "uuid" },
                        "name": { "type": "string", "minLength": 1, "maxLength": 200 },
                        "role": { "type": "string", "enum": ["cashier", "server", "kitchen", "manager", "owner"] },
                        "pin": { "type": "string", "pattern": "^[0-9]{4,8}$", "writeOnly": true },
                        "active": { "type": "boolean" },
                        "locations": { "type": "array", "items": { "type": "string", "format": "uuid" },
                            "description": "Where they work; empty for every location, absent to keep the current list (every location for a new member). Only those locations' terminals receive the record." } } }
            }
        }
    });
    if let (Some(schemas), Value::Object(reads)) =
        (doc["components"]["schemas"].as_object_mut(), read_schemas())
    {
        schemas.extend(reads);
    }
    doc["components"]["schemas"]["NewLocation"] = json!({
        "type": "object", "required": ["name"], "additionalProperties": false, "properties": {
            "name": { "type": "string", "minLength": 1, "maxLength": 200 },
            "time_zone": { "type": "string", "description": "IANA time zone; UTC when a currency or tax rate is given without one" },
            "currency": { "type": "string", "description": "ISO 4217 code, such as EUR" },
            "default_tax_bps": { "type": "integer", "minimum": 0, "maximum": 10000 } } });
    if let (Some(paths), Value::Object(console)) = (doc["paths"].as_object_mut(), console_paths()) {
        paths.extend(console);
    }
    if let (Some(paths), Value::Object(work_orders)) =
        (doc["paths"].as_object_mut(), super::work_orders::openapi_paths())
    {
        paths.extend(work_orders);
    }
    doc
}

/// The schemas of the console's read endpoints (reports, orders, catalog).
fn read_schemas() -> Value {
    json!({
                "ReportSection": { "type": "object", "required": ["location_id", "from", "to", "time_zone", "rows"], "properties": {
                    "location_id": { "type": "string", "format": "uuid" },
                    "from": { "type": "string", "format": "date" }, "to": { "type": "string", "format": "date" },
                    "time_zone": { "type": "string" },
                    "currency": { "type": ["object", "null"], "properties": { "code": { "type": "string" }, "exponent": { "type": "integer" } } },
                    "rows": { "description": "Amounts in minor units of `currency`. summary: an object; hours and days: [{label, orders, net}]; items: [{item_id, name, qty_milli, net}]; tenders: [{tender, payments, amount, tips}]; exceptions (voids, comps, price overrides, discounts, refunds): [{at_ms, local_time, kind, order_id, item, amount, detail, reason, approved_by, device}]; drawers: [{session_id, opened, closed, device, opened_by, closed_by, float, expected, counted, over_short, paid_in, paid_out, no_sales, z_report}]; quarantined: [{at, device, seq, kind, code, reason}]; stock (every tracked item now, whatever the range): [{item_id, name, on_hand_milli, reorder_point_milli, low}]; staff (payments by who took them): [{staff_id, name, payments, amount, tips}].",
                              "oneOf": [
                                  { "type": "object", "properties": { "orders": { "type": "integer" }, "gross": { "type": "integer" },
                                      "discounts": { "type": "integer" }, "comps": { "type": "integer" }, "voids": { "type": "integer" },
                                      "net": { "type": "integer" }, "tax": { "type": "integer" }, "tips": { "type": "integer" }, "refunded": { "type": "integer" } } },
                                  { "type": "array", "items": { "type": "object" } } ] } } },
                "OrderRow": { "type": "object", "required": ["order_id", "closed_at_ms", "net", "tax", "total", "tips", "refunded"], "properties": {
                    "order_id": { "type": "string", "format": "uuid" }, "closed_at_ms": { "type": "integer" },
                    "currency": { "type": ["string", "null"] }, "net": { "type": "integer" }, "tax": { "type": "integer" },
                    "total": { "type": "integer" }, "tips": { "type": "integer" }, "refunded": { "type": "integer" } } },
                "Item": { "type": "object", "required": ["id", "name", "price"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" },
                    "category": { "type": ["string", "null"], "format": "uuid" }, "price": { "type": "integer", "description": "Minor units." },
                    "tax_category": { "type": ["string", "null"], "format": "uuid" },
                    "barcodes": { "type": "array", "items": { "type": "string" } }, "station": { "type": ["string", "null"] },
                    "modifier_groups": { "type": "array", "items": { "type": "string", "format": "uuid" } },
                    "track_stock": { "type": "boolean" }, "sold_by_weight": { "type": "boolean" }, "active": { "type": "boolean" } } },
                "ModifierGroup": { "type": "object", "required": ["id", "name", "min", "max", "modifiers"], "properties": {
                    "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" },
                    "min": { "type": "integer" }, "max": { "type": "integer" },
                    "modifiers": { "type": "array", "items": { "type": "object", "properties": {
                        "id": { "type": "string", "format": "uuid" }, "name": { "type": "string" },
                        "price_delta": { "type": "integer" } } } } } }
    })
}
