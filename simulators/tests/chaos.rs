//! The chaos proxy over real loopback sockets: clean forwarding, each fault, partition and
//! heal, the control port, the seeded schedule and the `thorbis-sim chaos` binary. Every
//! wait is bounded; timing is only ever asserted as a lower bound.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use thorbis_simulators::chaos::{
    ChaosConfig, ChaosProxy, Delay, DirFaults, FaultCommand, Faults, ScheduleSpec, Step,
};

const WAIT: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched for. Absence checks cannot fail falsely, only miss.
const QUIET: Duration = Duration::from_millis(300);

/// An upstream that echoes every connection back until its client closes.
fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut s) = stream else { continue };
            thread::spawn(move || {
                s.set_read_timeout(Some(WAIT)).unwrap();
                let mut w = s.try_clone().unwrap();
                let _ = io::copy(&mut s, &mut w);
                let _ = w.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

fn proxy_to(upstream: SocketAddr) -> ChaosProxy {
    ChaosProxy::start("127.0.0.1:0".parse().unwrap(), upstream, ChaosConfig::default()).unwrap()
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.set_write_timeout(Some(WAIT)).unwrap();
    s
}

/// Accepts one connection on a test-owned upstream, within [`WAIT`].
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let deadline = Instant::now() + WAIT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(WAIT)).unwrap();
                s.set_write_timeout(Some(WAIT)).unwrap();
                return s;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                assert!(Instant::now() < deadline, "no connection reached the upstream");
                thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    s.read_exact(&mut buf).unwrap();
    buf
}

/// Asserts nothing arrives on `s` for [`QUIET`].
fn assert_quiet(s: &mut TcpStream, what: &str) {
    s.set_read_timeout(Some(QUIET)).unwrap();
    let mut b = [0u8; 64];
    match s.read(&mut b) {
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
        other => panic!("{what}: expected nothing, got {other:?}"),
    }
    s.set_read_timeout(Some(WAIT)).unwrap();
}

fn assert_reset(s: &mut TcpStream) {
    let mut b = [0u8; 16];
    match s.read(&mut b) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("expected a reset, read {n} bytes"),
    }
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(5));
    }
}

/// Deterministic filler: a different pattern per connection.
fn payload(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

#[test]
fn clean_forwarding_is_byte_exact_for_many_connections() {
    const CONNS: usize = 8;
    const LEN: usize = 1 << 20;
    let proxy = proxy_to(echo_server());
    let clients: Vec<_> = (0..CONNS)
        .map(|i| {
            let addr = proxy.local_addr();
            thread::spawn(move || {
                let data = payload(i as u8, LEN);
                let mut s = connect(addr);
                let mut w = s.try_clone().unwrap();
                let sent = data.clone();
                // Write and read at once, or both directions' buffers fill and stall.
                let writer = thread::spawn(move || w.write_all(&sent).unwrap());
                let back = read_n(&mut s, LEN);
                writer.join().unwrap();
                assert!(back == data, "connection {i} came back changed");
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let total = (CONNS * LEN) as u64;
    wait_until("the last bytes to be counted", || proxy.counters().down.forwarded == total);
    let c = proxy.counters();
    assert_eq!(c.connections, CONNS as u64);
    assert_eq!(c.up.forwarded, total);
    assert_eq!((c.up.dropped, c.up.duplicated, c.down.dropped, c.down.duplicated), (0, 0, 0, 0));
    proxy.shutdown();
}

#[test]
fn drop_discards_one_direction_and_the_connection_stays_open() {
    let proxy = proxy_to(echo_server());
    let mut s = connect(proxy.local_addr());
    proxy.apply(FaultCommand::parse("drop up").unwrap());
    s.write_all(b"lost").unwrap();
    wait_until("the dropped bytes", || proxy.counters().up.dropped == 4);
    proxy.apply(FaultCommand::Drop(None));
    s.write_all(b"kept").unwrap();
    assert_eq!(read_n(&mut s, 4), b"kept");

    // The answers' direction: the echo sees the bytes, the client does not.
    proxy.update(|f| f.down.drop = true);
    s.write_all(b"gone").unwrap();
    wait_until("the dropped answer", || proxy.counters().down.dropped == 4);
    proxy.update(|f| f.down.drop = false);
    s.write_all(b"back").unwrap();
    assert_eq!(read_n(&mut s, 4), b"back");
    // Counted just after the write that the client has already read.
    wait_until("the counts", || {
        let c = proxy.counters();
        (c.up.forwarded, c.down.forwarded) == (12, 8)
    });
    proxy.shutdown();
}

#[test]
fn delay_adds_at_least_the_configured_latency_and_keeps_order() {
    let proxy = proxy_to(echo_server());
    let mut s = connect(proxy.local_addr());
    let delay = Delay { base: Duration::from_millis(100), jitter: Duration::from_millis(40) };
    proxy.update(|f| {
        f.up.delay = Some(delay);
        f.down.delay = Some(delay);
    });
    let start = Instant::now();
    s.write_all(b"ping").unwrap();
    assert_eq!(read_n(&mut s, 4), b"ping");
    let rtt = start.elapsed();
    assert!(rtt >= 2 * delay.base, "round trip {rtt:?} under twice the delay");

    // Many small writes with jitter arrive in order.
    let data = payload(7, 2000);
    for piece in data.chunks(40) {
        s.write_all(piece).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    assert!(read_n(&mut s, data.len()) == data, "jitter reordered bytes");
    proxy.shutdown();
}

#[test]
fn duplicate_writes_a_chunk_twice() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = proxy_to(upstream.local_addr().unwrap());
    let mut client = connect(proxy.local_addr());
    let mut server = accept(&upstream);
    assert_eq!(proxy.execute("duplicate up"), "ok");
    client.write_all(b"abc").unwrap();
    assert_eq!(read_n(&mut server, 6), b"abcabc");
    // A marker sent after duplication is off comes next: no third copy came before it.
    assert_eq!(proxy.execute("duplicate off"), "ok");
    client.write_all(b"!").unwrap();
    assert_eq!(read_n(&mut server, 1), b"!", "a third copy");
    server.write_all(b"xyz").unwrap();
    assert_eq!(read_n(&mut client, 3), b"xyz", "the other direction is untouched");
    let c = proxy.counters();
    assert_eq!((c.up.forwarded, c.up.duplicated, c.down.duplicated), (4, 3, 0));

    // A half-close is passed on, and the other direction still works after it.
    client.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(server.read(&mut [0u8; 8]).unwrap(), 0, "the upstream sees end of stream");
    server.write_all(b"bye").unwrap();
    assert_eq!(read_n(&mut client, 3), b"bye");
    proxy.shutdown();
}

#[test]
fn reset_makes_the_client_see_a_connection_reset() {
    let proxy = proxy_to(echo_server());
    let mut a = connect(proxy.local_addr());
    a.write_all(b"hi").unwrap();
    assert_eq!(read_n(&mut a, 2), b"hi");
    assert_eq!(proxy.reset_connections(), 1);
    assert_reset(&mut a);

    // `reset keep` resets new connections as they arrive, until switched off.
    assert_eq!(proxy.execute("reset keep"), "ok");
    let mut b = connect(proxy.local_addr());
    assert_reset(&mut b);
    assert_eq!(proxy.execute("reset off"), "ok");
    let mut c = connect(proxy.local_addr());
    c.write_all(b"ok").unwrap();
    assert_eq!(read_n(&mut c, 2), b"ok");
    assert_eq!(proxy.counters().resets, 2);
    proxy.shutdown();
}

#[test]
fn cut_holds_one_direction_while_the_other_flows() {
    let upstream = TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = proxy_to(upstream.local_addr().unwrap());
    let mut client = connect(proxy.local_addr());
    let mut server = accept(&upstream);
    proxy.apply(FaultCommand::parse("cut up").unwrap());
    client.write_all(b"held").unwrap();
    server.write_all(b"news").unwrap();
    assert_eq!(read_n(&mut client, 4), b"news", "upstream to client still flows");
    assert_quiet(&mut server, "client to upstream is cut");

    // Held, not lost: the bytes arrive once the cut heals.
    proxy.heal();
    assert_eq!(read_n(&mut server, 4), b"held");
    wait_until("the counts", || {
        let c = proxy.counters();
        (c.up.dropped, c.up.forwarded, c.down.forwarded) == (0, 4, 4)
    });

    proxy.update(|f| f.down.cut = true);
    server.write_all(b"late").unwrap();
    client.write_all(b"up!!").unwrap();
    assert_eq!(read_n(&mut server, 4), b"up!!");
    assert_quiet(&mut client, "upstream to client is cut");
    proxy.update(|f| f.down = DirFaults::default());
    assert_eq!(read_n(&mut client, 4), b"late");
    proxy.shutdown();
}

#[test]
fn partition_then_heal_and_traffic_flows_again() {
    let proxy = proxy_to(echo_server());
    let mut before = connect(proxy.local_addr());
    before.write_all(b"1").unwrap();
    assert_eq!(read_n(&mut before, 1), b"1");

    assert_eq!(proxy.execute("partition"), "ok");
    before.write_all(b"a").unwrap();
    // A connection made during a black-hole partition is accepted and goes nowhere.
    let mut during = connect(proxy.local_addr());
    during.write_all(b"b").unwrap();
    assert_quiet(&mut before, "partitioned connection");
    assert_quiet(&mut during, "black-holed connection");
    assert_eq!(proxy.counters().active, 2);

    proxy.heal();
    assert_eq!(read_n(&mut before, 1), b"a");
    assert_eq!(read_n(&mut during, 1), b"b");

    // In refuse mode new connections are turned away at once; old ones are only held.
    assert_eq!(proxy.execute("partition refuse"), "ok");
    let mut refused = connect(proxy.local_addr());
    assert_reset(&mut refused);
    before.write_all(b"c").unwrap();
    assert_quiet(&mut before, "held during the partition");
    assert_eq!(proxy.execute("heal"), "ok");
    assert_eq!(read_n(&mut before, 1), b"c");
    let c = proxy.counters();
    assert_eq!((c.connections, c.refused), (3, 1));
    proxy.shutdown();
}

#[test]
fn control_port_commands_change_behaviour() {
    let proxy = proxy_to(echo_server());
    let control = proxy.listen_control("127.0.0.1:0").unwrap();
    let mut ctl = connect(control);
    let mut answers = BufReader::new(ctl.try_clone().unwrap());
    let mut ask = |line: &str| {
        ctl.write_all(format!("{line}\n").as_bytes()).unwrap();
        let mut a = String::new();
        answers.read_line(&mut a).unwrap();
        a.trim_end().to_owned()
    };
    let status = ask("status");
    assert!(
        status.starts_with("up=clean down=clean partition=no reset-new=no connections=0 active=0"),
        "{status}"
    );
    assert!(status.ends_with("schedule=off"), "{status}");
    assert!(ask("drop sideways").starts_with("error: "));
    assert!(ask("delay soon").starts_with("error: "));
    assert!(ask("explode").starts_with("error: unknown command"));
    assert!(ask("schedule x cut up for 5").starts_with("error: not a seed"));

    let mut s = connect(proxy.local_addr());
    assert_eq!(ask("drop up"), "ok");
    assert!(ask("status").starts_with("up=drop down=clean"));
    s.write_all(b"zzz").unwrap();
    wait_until("the dropped bytes", || ask("status").contains(" up-dropped=3 "));
    assert_eq!(ask("delay 50 10 down"), "ok");
    assert!(ask("status").starts_with("up=drop down=delay:50+10 "));
    assert_eq!(ask("heal"), "ok");
    s.write_all(b"yes").unwrap();
    assert_eq!(read_n(&mut s, 3), b"yes");

    assert_eq!(ask("cut down"), "ok");
    s.write_all(b"wait").unwrap();
    assert_quiet(&mut s, "the answer is cut");
    assert_eq!(ask("cut off"), "ok");
    assert_eq!(read_n(&mut s, 4), b"wait");

    assert_eq!(ask("reset"), "ok");
    assert_reset(&mut s);

    // A schedule started through the port runs and ends healed.
    assert_eq!(ask("schedule 5 gap 0..5, partition for 10..30, cut up for 5 x2, count 3"), "ok");
    wait_until("the schedule to finish", || ask("status").contains("schedule=done seed=5 steps=3"));
    assert!(ask("status").starts_with("up=clean down=clean partition=no"));
    proxy.shutdown();
}

#[test]
fn the_schedule_is_a_pure_function_of_the_seed() {
    let spec: ScheduleSpec =
        "gap 500..5000, partition for 1000..9000, cut up for 200..2000 x2, drop down for 100, \
         delay 300 100 for 1000..3000, reset for 1, duplicate up for 50..60"
            .parse()
            .unwrap();
    let plan = |seed| spec.plan(seed).take(50).collect::<Vec<Step>>();
    assert_eq!(plan(1), plan(1));
    assert_eq!(plan(0xDEAD_BEEF), plan(0xDEAD_BEEF));
    assert_ne!(plan(1), plan(2));
    assert_ne!(plan(2), plan(3));
    // The spec's text form is enough to replay: it parses back to the same plan.
    let again: ScheduleSpec = spec.to_string().parse().unwrap();
    assert_eq!(again.plan(9).take(50).collect::<Vec<_>>(), plan(9));
}

#[test]
fn a_running_schedule_applies_its_plan_in_order() {
    let proxy = proxy_to(echo_server());
    let spec: ScheduleSpec =
        "gap 0..10, drop both for 5..20, partition refuse for 5..20, delay 5 for 5, count 6"
            .parse()
            .unwrap();
    let expected: Vec<Step> = spec.plan(11).take(6).collect();
    proxy.run_schedule(spec, 11);
    wait_until("six steps", || proxy.applied_steps().len() == 6);
    wait_until("the final heal", || proxy.status().contains("schedule=done"));
    assert_eq!(proxy.applied_steps(), expected);
    assert_eq!(proxy.faults(), Faults::default());

    // Stopping a schedule heals at once, whatever it had switched on.
    proxy.run_schedule("gap 0, partition for 60000".parse().unwrap(), 1);
    wait_until("the partition", || proxy.faults().partition.is_some());
    proxy.stop_schedule();
    assert!(proxy.faults().is_clean());
    let mut s = connect(proxy.local_addr());
    s.write_all(b"free").unwrap();
    assert_eq!(read_n(&mut s, 4), b"free");
    proxy.shutdown();
}

#[test]
fn the_binary_runs_a_proxy_and_prints_where() {
    let upstream = echo_server();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_thorbis-sim"))
        .args(["chaos", "--listen", "127.0.0.1:0", "--upstream", &upstream.to_string()])
        .args(["--control", "127.0.0.1:0", "--seed", "3", "--schedule", "cut up for 1, gap 60000"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..4 {
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
    let proxy: SocketAddr =
        find("chaos tcp ").strip_suffix(&format!(" upstream {upstream}")).unwrap().parse().unwrap();
    let control: SocketAddr = find("control tcp ").parse().unwrap();
    assert_eq!(find("seed "), "3");
    assert_eq!(find("schedule "), "gap 60000..60000, cut up for 1..1 x1");

    let mut s = connect(proxy);
    s.write_all(b"via").unwrap();
    assert_eq!(read_n(&mut s, 3), b"via");
    let mut c = connect(control);
    c.write_all(b"duplicate down\nstatus\n").unwrap();
    let mut answers = BufReader::new(c);
    let mut ok = String::new();
    answers.read_line(&mut ok).unwrap();
    assert_eq!(ok, "ok\n");
    let mut status = String::new();
    answers.read_line(&mut status).unwrap();
    assert!(status.starts_with("up=clean down=duplicate "), "{status}");
    assert!(status.contains("schedule=running seed=3 steps=0"), "{status}");
    s.write_all(b"2x").unwrap();
    assert_eq!(read_n(&mut s, 4), b"2x2x");
    child.kill().unwrap();
    child.wait().unwrap();
}
