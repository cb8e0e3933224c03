//! The chaos proxy's fault state and its command language, without IO: what is switched on
//! ([`Faults`]), the commands that switch it ([`FaultCommand`], shared by the control port
//! and the seeded schedule) and the one-line status text.

use std::fmt;
use std::time::Duration;

/// One direction of a proxied connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to upstream (the agent's requests).
    Up,
    /// Upstream to client (the hub's answers).
    Down,
}

impl Direction {
    /// `up` or `down`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }
}

/// The directions a command applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dirs {
    /// Client to upstream only.
    Up,
    /// Upstream to client only.
    Down,
    /// Both ways.
    Both,
}

impl Dirs {
    fn parse(word: &str) -> Result<Dirs, String> {
        match word {
            "up" => Ok(Dirs::Up),
            "down" => Ok(Dirs::Down),
            "both" => Ok(Dirs::Both),
            other => Err(format!("not a direction (up, down, both): {other}")),
        }
    }

    /// Whether `d` is one of these directions.
    #[must_use]
    pub fn has(self, d: Direction) -> bool {
        matches!(
            (self, d),
            (Dirs::Both, _) | (Dirs::Up, Direction::Up) | (Dirs::Down, Direction::Down)
        )
    }

    fn name(self) -> &'static str {
        match self {
            Dirs::Up => "up",
            Dirs::Down => "down",
            Dirs::Both => "both",
        }
    }
}

/// Added latency: every chunk waits `base`, plus a seeded random part of up to `jitter`.
/// Chunks never overtake each other, so byte order is kept.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Delay {
    /// Fixed latency.
    pub base: Duration,
    /// Largest extra latency, drawn per chunk.
    pub jitter: Duration,
}

/// What happens to connections that arrive during a partition.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum PartitionMode {
    /// Accepted and held with no upstream connection until the partition heals, as a
    /// client's retransmitted SYNs would finally get through: the client sees a connection
    /// that does not answer.
    #[default]
    Blackhole,
    /// Accepted and reset at once, so the client fails fast (its `connect` may succeed, the
    /// first read or write fails). A real `ECONNREFUSED` would mean closing the listening
    /// socket and giving its port away.
    Refuse,
}

impl PartitionMode {
    fn name(self) -> &'static str {
        match self {
            PartitionMode::Blackhole => "blackhole",
            PartitionMode::Refuse => "refuse",
        }
    }
}

/// The faults of one direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirFaults {
    /// Bytes are read and discarded; the connection stays open. A stream that loses bytes
    /// in the middle is something TCP never delivers: this tests what the receiver makes
    /// of a corrupt stream.
    pub drop: bool,
    /// Bytes wait this long before they are passed on.
    pub delay: Option<Delay>,
    /// Every chunk is written twice (corrupts the stream on purpose).
    pub duplicate: bool,
    /// Bytes are held: nothing is read from the sender, whose writes back up as over a dead
    /// link, and nothing already read is passed on. Nothing is lost; it flows on heal.
    pub cut: bool,
}

impl DirFaults {
    fn is_clean(&self) -> bool {
        *self == DirFaults::default()
    }
}

/// Every fault switched on, per direction where that makes sense. `Faults::default()` is
/// clean forwarding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Faults {
    /// Client to upstream.
    pub up: DirFaults,
    /// Upstream to client.
    pub down: DirFaults,
    /// No traffic either way on current connections (held, as with `cut`), and new
    /// connections are treated as the mode says.
    pub partition: Option<PartitionMode>,
    /// Every new connection is reset as soon as it is accepted.
    pub reset_new: bool,
}

impl Faults {
    /// The faults of one direction.
    #[must_use]
    pub fn dir(&self, d: Direction) -> &DirFaults {
        match d {
            Direction::Up => &self.up,
            Direction::Down => &self.down,
        }
    }

    fn dirs_mut(&mut self, dirs: Dirs) -> impl Iterator<Item = &mut DirFaults> {
        let (up, down) = (dirs.has(Direction::Up), dirs.has(Direction::Down));
        [up.then_some(&mut self.up), down.then_some(&mut self.down)].into_iter().flatten()
    }

    /// Whether bytes of direction `d` are held (cut or partitioned).
    #[must_use]
    pub fn holds(&self, d: Direction) -> bool {
        self.partition.is_some() || self.dir(d).cut
    }

    /// Whether nothing is switched on.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        *self == Faults::default()
    }
}

impl fmt::Display for DirFaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return f.write_str("clean");
        }
        let mut parts = Vec::new();
        if self.drop {
            parts.push("drop".to_owned());
        }
        if let Some(d) = self.delay {
            parts.push(format!("delay:{}+{}", d.base.as_millis(), d.jitter.as_millis()));
        }
        if self.duplicate {
            parts.push("duplicate".to_owned());
        }
        if self.cut {
            parts.push("cut".to_owned());
        }
        f.write_str(&parts.join(","))
    }
}

/// `up=drop,delay:200+50 down=clean partition=no reset-new=no`.
impl fmt::Display for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "up={} down={} partition={} reset-new={}",
            self.up,
            self.down,
            self.partition.map_or("no", PartitionMode::name),
            if self.reset_new { "yes" } else { "no" }
        )
    }
}

/// One fault command, as the control port and the schedule spell it.
///
/// | text | effect |
/// |---|---|
/// | `drop up\|down\|both` / `drop off` | discard the direction's bytes |
/// | `delay <ms> [<jitter ms>] [up\|down\|both]` / `delay off` | add latency (both ways by default) |
/// | `duplicate up\|down\|both` / `duplicate off` | write every chunk twice |
/// | `cut up\|down\|both` / `cut off` | hold the direction's bytes |
/// | `partition [blackhole\|refuse]` | hold everything; new connections black-holed (default) or reset |
/// | `reset` / `reset keep` / `reset off` | reset current connections; `keep` also resets new ones until `reset off` or `heal` |
/// | `heal` | clean forwarding |
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultCommand {
    /// Switch dropping on (`Some`) or off in every direction (`None`).
    Drop(Option<Dirs>),
    /// Set the delay of some directions, or clear every delay (`None`).
    Delay(Option<(Delay, Dirs)>),
    /// Switch duplication on, or off in every direction.
    Duplicate(Option<Dirs>),
    /// Cut some directions, or uncut every direction.
    Cut(Option<Dirs>),
    /// Partition.
    Partition(PartitionMode),
    /// Reset current connections; with `keep`, new ones too until switched off.
    Reset {
        /// Keep resetting new connections.
        keep: bool,
    },
    /// Stop resetting new connections.
    ResetOff,
    /// Back to clean forwarding.
    Heal,
}

fn millis(word: &str) -> Result<Duration, String> {
    word.parse().map(Duration::from_millis).map_err(|_| format!("not a number of ms: {word}"))
}

impl FaultCommand {
    /// Parses one command (see the table on [`FaultCommand`]).
    pub fn parse(line: &str) -> Result<FaultCommand, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let on_off = |make: fn(Option<Dirs>) -> FaultCommand, rest: &[&str]| match rest {
            ["off"] => Ok(make(None)),
            [d] => Ok(make(Some(Dirs::parse(d)?))),
            _ => Err(format!("usage: {} up|down|both|off", words[0])),
        };
        match words.as_slice() {
            ["drop", rest @ ..] => on_off(FaultCommand::Drop, rest),
            ["duplicate", rest @ ..] => on_off(FaultCommand::Duplicate, rest),
            ["cut", rest @ ..] => on_off(FaultCommand::Cut, rest),
            ["delay", "off"] => Ok(FaultCommand::Delay(None)),
            ["delay", rest @ ..] => {
                let (dirs, numbers) = match rest {
                    [n @ .., last] if Dirs::parse(last).is_ok() => (Dirs::parse(last)?, n),
                    n => (Dirs::Both, n),
                };
                let delay = match numbers {
                    [base] => Delay { base: millis(base)?, jitter: Duration::ZERO },
                    [base, jitter] => Delay { base: millis(base)?, jitter: millis(jitter)? },
                    _ => return Err("usage: delay <ms> [<jitter ms>] [up|down|both]".into()),
                };
                Ok(FaultCommand::Delay(Some((delay, dirs))))
            }
            ["partition"] | ["partition", "blackhole"] => {
                Ok(FaultCommand::Partition(PartitionMode::Blackhole))
            }
            ["partition", "refuse"] => Ok(FaultCommand::Partition(PartitionMode::Refuse)),
            ["partition", ..] => Err("usage: partition [blackhole|refuse]".into()),
            ["reset"] => Ok(FaultCommand::Reset { keep: false }),
            ["reset", "keep"] => Ok(FaultCommand::Reset { keep: true }),
            ["reset", "off"] => Ok(FaultCommand::ResetOff),
            ["reset", ..] => Err("usage: reset [keep|off]".into()),
            ["heal"] => Ok(FaultCommand::Heal),
            [] => Err("empty command".into()),
            _ => Err(format!("unknown command: {}", words.join(" "))),
        }
    }

    /// Changes `faults` as the command says. Returns whether current connections must be
    /// reset, the one effect that is not a state.
    pub fn apply(self, faults: &mut Faults) -> bool {
        match self {
            FaultCommand::Drop(dirs) => {
                for d in faults.dirs_mut(dirs.unwrap_or(Dirs::Both)) {
                    d.drop = dirs.is_some();
                }
            }
            FaultCommand::Duplicate(dirs) => {
                for d in faults.dirs_mut(dirs.unwrap_or(Dirs::Both)) {
                    d.duplicate = dirs.is_some();
                }
            }
            FaultCommand::Cut(dirs) => {
                for d in faults.dirs_mut(dirs.unwrap_or(Dirs::Both)) {
                    d.cut = dirs.is_some();
                }
            }
            FaultCommand::Delay(set) => {
                let (delay, dirs) = set.map_or((None, Dirs::Both), |(d, dirs)| (Some(d), dirs));
                for d in faults.dirs_mut(dirs) {
                    d.delay = delay.filter(|d| !(d.base.is_zero() && d.jitter.is_zero()));
                }
            }
            FaultCommand::Partition(mode) => faults.partition = Some(mode),
            FaultCommand::Reset { keep } => {
                faults.reset_new |= keep;
                return true;
            }
            FaultCommand::ResetOff => faults.reset_new = false,
            FaultCommand::Heal => *faults = Faults::default(),
        }
        false
    }
}

/// Prints the command as [`FaultCommand::parse`] reads it.
impl fmt::Display for FaultCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let on_off = |f: &mut fmt::Formatter<'_>, verb: &str, dirs: Option<Dirs>| {
            write!(f, "{verb} {}", dirs.map_or("off", Dirs::name))
        };
        match *self {
            FaultCommand::Drop(d) => on_off(f, "drop", d),
            FaultCommand::Duplicate(d) => on_off(f, "duplicate", d),
            FaultCommand::Cut(d) => on_off(f, "cut", d),
            FaultCommand::Delay(None) => f.write_str("delay off"),
            FaultCommand::Delay(Some((d, dirs))) => {
                write!(f, "delay {} {} {}", d.base.as_millis(), d.jitter.as_millis(), dirs.name())
            }
            FaultCommand::Partition(mode) => write!(f, "partition {}", mode.name()),
            FaultCommand::Reset { keep: false } => f.write_str("reset"),
            FaultCommand::Reset { keep: true } => f.write_str("reset keep"),
            FaultCommand::ResetOff => f.write_str("reset off"),
            FaultCommand::Heal => f.write_str("heal"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(faults: &mut Faults, line: &str) -> bool {
        FaultCommand::parse(line).unwrap().apply(faults)
    }

    #[test]
    fn commands_switch_faults_on_and_off() {
        let mut f = Faults::default();
        assert!(!apply(&mut f, "drop up"));
        assert!(f.up.drop && !f.down.drop);
        apply(&mut f, "delay 200 50 down");
        assert_eq!(
            f.down.delay,
            Some(Delay { base: Duration::from_millis(200), jitter: Duration::from_millis(50) })
        );
        assert_eq!(f.up.delay, None);
        apply(&mut f, "cut down");
        assert!(f.holds(Direction::Down) && !f.holds(Direction::Up));
        assert_eq!(f.to_string(), "up=drop down=delay:200+50,cut partition=no reset-new=no");
        apply(&mut f, "drop off");
        apply(&mut f, "cut off");
        apply(&mut f, "delay 0");
        assert!(f.is_clean());
        apply(&mut f, "partition refuse");
        assert!(f.holds(Direction::Up) && f.holds(Direction::Down));
        assert!(apply(&mut f, "reset keep"));
        assert!(f.reset_new);
        assert_eq!(f.to_string(), "up=clean down=clean partition=refuse reset-new=yes");
        assert!(!apply(&mut f, "heal"));
        assert!(f.is_clean());
    }

    #[test]
    fn bad_commands_are_refused() {
        for bad in [
            "",
            "drop",
            "drop sideways",
            "delay",
            "delay soon",
            "delay 1 2 3",
            "partition now",
            "reset all",
            "explode",
        ] {
            assert!(FaultCommand::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn display_round_trips() {
        for line in [
            "drop up",
            "drop off",
            "delay 100 20 both",
            "delay off",
            "duplicate down",
            "cut both",
            "partition refuse",
            "partition blackhole",
            "reset",
            "reset keep",
            "reset off",
            "heal",
        ] {
            let c = FaultCommand::parse(line).unwrap();
            assert_eq!(c.to_string(), line);
            assert_eq!(FaultCommand::parse(&c.to_string()).unwrap(), c);
        }
    }
}
