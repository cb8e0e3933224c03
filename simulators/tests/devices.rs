//! The shells over real loopback sockets and pseudo-terminals: TCP printer, status while out
//! of paper, back-pressure, slow and hung printers, the drawer, the serial printer, the
//! scanner, the control port and the `thorbis-sim` binary. Every wait is bounded.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use thorbis_simulators::control::Controller;
use thorbis_simulators::escpos::DiagnosticKind::{Malformed, Unknown};
use thorbis_simulators::printer::Paper;
use thorbis_simulators::scanner::{self, ScanSymbology, ScannerConfig};
use thorbis_simulators::server::{PrinterConfig, PrinterHandle};

const WAIT: Duration = Duration::from_secs(5);
const JOB: &[u8] = b"\x1b@Hello\n\x1bt\x13Gr\x81\xe1e 5\xd5\n\x1dVA\x00";

fn connect(addr: std::net::SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

fn status(s: &mut (impl Read + Write), n: u8) -> u8 {
    s.write_all(&[0x10, 0x04, n]).unwrap();
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    b[0]
}

#[test]
fn tcp_job_waits_for_paper_and_prints_once() {
    let out = tempfile::tempdir().unwrap();
    let printer = PrinterHandle::new(PrinterConfig {
        out_dir: Some(out.path().to_owned()),
        ..PrinterConfig::default()
    });
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    printer.set_paper(Paper::Out);
    let mut s = connect(addr);
    s.write_all(JOB).unwrap();
    // Status is answered in real time although nothing prints.
    assert_eq!(status(&mut s, 4), 0x7E, "paper end and near-end bits, fixed bits 1 and 4");
    assert_eq!(status(&mut s, 1), 0x1A, "offline bit");
    assert_eq!(status(&mut s, 2), 0x32, "stopped by paper end");
    assert_eq!(status(&mut s, 3), 0x12);
    // Those answers came after the whole job was read: had it printed, it would be filed.
    assert!(printer.jobs().is_empty(), "nothing prints without paper");

    printer.set_paper(Paper::Ok);
    let jobs = printer.wait_for_jobs(1, WAIT);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].text, "Hello\nGrüße 5€\n");
    assert!(jobs[0].is_cut() && jobs[0].diagnostics.is_empty());
    // The answer is sent after everything received before it was filed.
    assert_eq!(status(&mut s, 4), 0x12);
    assert_eq!(printer.jobs().len(), 1, "the job appears once");
    drop(s);

    // The same receipt again is flagged as a duplicate of the first.
    connect(addr).write_all(JOB).unwrap();
    let jobs = printer.wait_for_jobs(2, WAIT);
    assert_eq!(jobs[1].duplicate_of, Some(1));

    let txt = std::fs::read_to_string(out.path().join("0001.txt")).unwrap();
    assert_eq!(txt, "Hello\nGrüße 5€\n");
    let png = std::fs::read(out.path().join("0002.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let jsonl = std::fs::read_to_string(out.path().join("jobs.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> =
        jsonl.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[1]["duplicate_of"], 1);
    assert_eq!(lines[0]["diagnostics"].as_array().map(Vec::len), Some(0));
    printer.shutdown();
}

#[test]
fn garbage_is_reported_and_the_printer_carries_on() {
    let out = tempfile::tempdir().unwrap();
    let printer = PrinterHandle::new(PrinterConfig {
        out_dir: Some(out.path().to_owned()),
        ..PrinterConfig::default()
    });
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    let mut s = connect(addr);
    // An unknown ESC command, a stray control byte, bad EAN data, a QR print with nothing
    // stored, then a good line and a cut; then a second, clean job on the same connection.
    s.write_all(b"\x1b@\x1bZ\x07\x1dk\x02ABC\x00\x1d(k\x03\x001Q0ok\n\x1dV\x00").unwrap();
    s.write_all(b"second\n\x1dV\x01").unwrap();
    let jobs = printer.wait_for_jobs(2, WAIT);
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0].text, "ok\n");
    let kinds: Vec<_> = jobs[0].diagnostics.iter().map(|d| (d.offset, d.kind)).collect();
    assert_eq!(kinds, [(2, Unknown), (4, Unknown), (5, Malformed), (12, Malformed)]);
    assert_eq!(jobs[1].text, "second\n");
    assert!(jobs[1].diagnostics.is_empty());
    assert_eq!(status(&mut s, 1), 0x12, "still answering");
    let jsonl = std::fs::read_to_string(out.path().join("jobs.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["diagnostics"][0]["kind"], "unknown");
    assert_eq!(first["diagnostics"][0]["offset"], 2);
    printer.shutdown();
}

#[test]
fn automatic_status_back_over_tcp() {
    let printer = PrinterHandle::new(PrinterConfig::default());
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    let mut s = connect(addr);
    s.write_all(b"\x1da\xff").unwrap();
    let mut asb = [0u8; 4];
    s.read_exact(&mut asb).unwrap();
    assert_eq!(asb, [0x10, 0, 0, 0]);
    printer.set_paper(Paper::Out);
    s.read_exact(&mut asb).unwrap();
    assert_eq!(asb, [0x18, 0, 0x0F, 0], "offline, paper near end and end");
    printer.shutdown();
}

#[test]
fn a_job_sent_before_hanging_up_still_prints() {
    let printer = PrinterHandle::new(PrinterConfig::default());
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    printer.set_paper(Paper::Out);
    {
        let mut s = connect(addr);
        // The status reply will find the host gone; the job must print anyway.
        s.write_all(JOB).unwrap();
        s.write_all(b"\x10\x04\x01").unwrap();
    }
    std::thread::sleep(Duration::from_millis(100));
    printer.set_paper(Paper::Ok);
    let jobs = printer.wait_for_jobs(1, WAIT);
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].text, "Hello\nGrüße 5€\n");
    printer.shutdown();
}

#[test]
fn a_stopped_printer_backs_up_the_sender() {
    let printer = PrinterHandle::new(PrinterConfig { rx_capacity: 256, ..Default::default() });
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    printer.set_cover_open(true);
    let mut s = connect(addr);
    s.set_write_timeout(Some(Duration::from_millis(500))).unwrap();
    // Far more than the socket buffers hold: the write must stall.
    let big = vec![b'A'; 64 << 20];
    let err = s.write_all(&big).expect_err("the write should back up");
    assert!(matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    assert!(printer.jobs().is_empty());
    printer.shutdown();
}

#[test]
fn slow_and_hung_printers() {
    let printer = PrinterHandle::new(PrinterConfig::default());
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    printer.set_speed(Some(100));
    let start = Instant::now();
    let mut s = connect(addr);
    s.write_all(b"0123456789012345678901234567890123456789\n\x1dV\x00").unwrap();
    let jobs = printer.wait_for_jobs(1, WAIT);
    assert_eq!(jobs.len(), 1);
    assert!(start.elapsed() >= Duration::from_millis(300), "44 bytes at 100 B/s");
    printer.set_speed(None);

    printer.hang(None);
    s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    s.write_all(&[0x10, 0x04, 0x01]).unwrap();
    let mut b = [0u8; 1];
    assert!(s.read_exact(&mut b).is_err(), "a hung printer does not answer");
    printer.resume();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.read_exact(&mut b).unwrap();
    assert_eq!(b[0], 0x12, "it answers once resumed");

    // Hang mid-job: 5 bytes in.
    printer.hang(Some(5));
    s.write_all(b"Half a receipt\n\x1dV\x00").unwrap();
    let deadline = Instant::now() + WAIT;
    while !printer.conditions().hung {
        assert!(Instant::now() < deadline, "never hung");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Hung, it prints nothing more, so the job cannot have finished.
    assert_eq!(printer.jobs().len(), 1, "the hung job is not finished");
    printer.resume();
    assert_eq!(printer.wait_for_jobs(2, WAIT)[1].text, "Half a receipt\n");
    printer.shutdown();
}

#[test]
fn the_drawer_opens_on_a_kick_and_closes_by_itself() {
    let mut config = PrinterConfig::default();
    config.conditions.drawer.connected = true;
    let printer = PrinterHandle::new(config);
    let addr = printer.listen_tcp("127.0.0.1:0").unwrap();
    let mut s = connect(addr);
    assert_eq!(status(&mut s, 1), 0x12);
    s.write_all(b"\x1bp\x00\x19\xfa").unwrap();
    // With no auto-close the drawer stays open, so polling cannot miss it.
    let deadline = Instant::now() + WAIT;
    while status(&mut s, 1) != 0x16 {
        assert!(Instant::now() < deadline, "drawer never opened");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Its timeout (the device's own clock, see `Conditions::tick`) is now long past.
    printer.update(|c| c.drawer.auto_close = Some(Duration::ZERO));
    while status(&mut s, 1) != 0x12 {
        assert!(Instant::now() < deadline, "drawer never closed");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(printer.conditions().drawer.kicks, 1);
    printer.shutdown();
}

#[test]
#[cfg(unix)] // Pseudo-terminals.
fn serial_printer_on_a_pseudo_terminal() {
    let printer = PrinterHandle::new(PrinterConfig::default());
    let path = printer.open_serial().unwrap();
    let mut port = serialport::new(&path, 115_200).timeout(WAIT).open().unwrap();
    port.write_all(JOB).unwrap();
    assert_eq!(status(&mut port, 1), 0x12);
    let jobs = printer.wait_for_jobs(1, WAIT);
    assert_eq!(jobs.len(), 1);
    assert!(jobs[0].source.starts_with("serial /dev/"));
    assert_eq!(jobs[0].text, "Hello\nGrüße 5€\n");
    printer.shutdown();
}

#[test]
#[cfg(unix)] // Pseudo-terminals.
fn scanner_types_codes_with_aim_ids_and_suffix() {
    let sc = scanner::start_scanner(ScannerConfig {
        prefix: Vec::new(),
        suffix: b"\r\n".to_vec(),
        aim: true,
        char_delay: Duration::from_millis(2),
    })
    .unwrap();
    let port = serialport::new(sc.path(), 9600).timeout(WAIT).open().unwrap();
    let mut reader = BufReader::new(port);
    sc.scan(Some(ScanSymbology::Ean13), b"4006381333931");
    sc.scan(None, b"01095011010209171719050810ABCD1234\x1d2110");
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).unwrap();
    assert_eq!(line, b"]E04006381333931\r\n");
    line.clear();
    reader.read_until(b'\n', &mut line).unwrap();
    assert_eq!(line, b"]C101095011010209171719050810ABCD1234\x1d2110\r\n");
    sc.shutdown();
}

#[test]
#[cfg(unix)] // Pseudo-terminals.
fn control_port_drives_printer_and_scanner() {
    let printer = PrinterHandle::new(PrinterConfig::default());
    let sc = scanner::start_scanner(ScannerConfig::default()).unwrap();
    let control = Controller { printer: Some(printer.clone()), scanner: Some(sc.clone()) };
    let addr = control.listen("127.0.0.1:0").unwrap();
    let mut c = connect(addr);
    let mut lines = BufReader::new(c.try_clone().unwrap()).lines();
    let mut ask = |cmd: &str| {
        c.write_all(format!("{cmd}\n").as_bytes()).unwrap();
        lines.next().unwrap().unwrap()
    };
    assert_eq!(ask("paper near-end"), "ok");
    assert_eq!(ask("offline"), "ok");
    assert_eq!(
        ask("status"),
        "online=no paper=near-end cover=closed drawer=closed kicks=0 speed=full hung=no jobs=0"
    );
    assert_eq!(printer.conditions().status_byte(4), Some(0x1E));
    assert_eq!(ask("online"), "ok");
    assert_eq!(ask("jobs"), "end");
    assert!(ask("fly").starts_with("error: unknown command"));
    let mut port = serialport::new(sc.path(), 9600).timeout(WAIT).open().unwrap();
    assert_eq!(ask("scan EAN8 96385074"), "ok");
    let mut got = [0u8; 9];
    port.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"96385074\r");
    sc.shutdown();
}

#[test]
#[cfg(unix)] // Pseudo-terminals.
fn the_binary_starts_devices_and_says_where() {
    let out = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_thorbis-sim"))
        .args(["--printer", "127.0.0.1:0", "--printer-serial", "--control", "127.0.0.1:0"])
        .args(["--scanner", "--drawer", "--out"])
        .arg(out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..6 {
        let mut l = String::new();
        stdout.read_line(&mut l).unwrap();
        lines.push(l.trim_end().to_owned());
    }
    let find = |prefix: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} in {lines:?}"))
            .to_owned()
    };
    let tcp: std::net::SocketAddr = find("printer tcp ").parse().unwrap();
    assert!(find("printer serial ").starts_with("/dev/"));
    assert!(find("scanner serial ").starts_with("/dev/"));
    let control: std::net::SocketAddr = find("control tcp ").parse().unwrap();
    find("drawer ");
    find("out ");
    let mut s = connect(tcp);
    s.write_all(JOB).unwrap();
    let deadline = Instant::now() + WAIT;
    while !out.path().join("0001.txt").exists() {
        assert!(Instant::now() < deadline, "no job file");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = connect(control);
    c.write_all(b"jobs\n").unwrap();
    let mut answer = String::new();
    BufReader::new(c).read_line(&mut answer).unwrap();
    assert!(answer.starts_with("job 1 cut=yes"), "{answer}");
    child.kill().unwrap();
    child.wait().unwrap();
}
