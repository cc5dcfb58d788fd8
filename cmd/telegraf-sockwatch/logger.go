package main

import (
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/influxdata/telegraf"
)

// execdLogger writes the plugin's messages to stderr the way Telegraf's
// inputs.execd reads them: the level first ("W! ", "E! ", "I! ", "D! "), no
// timestamp. execd takes the level only from the start of a line, adds its
// own timestamp, and logs at that level (a debug line shows only with the
// agent's debug = true); a line starting otherwise is logged as an error,
// which is what the shim's own logger, timestamp first, made of every
// warning. Each line of a message carries the level, so that a message
// quoting kernel text with a newline in it (a UNIX socket path) neither
// turns its tail into an error nor forges a level of its own.
type execdLogger struct {
	mu    sync.Mutex
	w     io.Writer
	level telegraf.LogLevel // messages above it (more verbose) are dropped
}

func newExecdLogger(w io.Writer, level telegraf.LogLevel) *execdLogger {
	return &execdLogger{w: w, level: level}
}

func (l *execdLogger) print(level telegraf.LogLevel, msg string) {
	if !l.level.Includes(level) {
		return
	}
	prefix := level.Indicator() + " "
	var b strings.Builder
	for line := range strings.Lines(strings.TrimSuffix(msg, "\n")) {
		b.WriteString(prefix)
		b.WriteString(strings.TrimSuffix(line, "\n"))
		b.WriteByte('\n')
	}
	if b.Len() == 0 {
		b.WriteString(prefix + "\n")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	io.WriteString(l.w, b.String())
}

func (l *execdLogger) Level() telegraf.LogLevel { return l.level }

// AddAttribute is a no-op: a line of execd's has no room for attributes.
func (*execdLogger) AddAttribute(string, any) {}

func (l *execdLogger) Errorf(format string, args ...any) {
	l.print(telegraf.Error, fmt.Sprintf(format, args...))
}
func (l *execdLogger) Error(args ...any) { l.print(telegraf.Error, fmt.Sprint(args...)) }
func (l *execdLogger) Warnf(format string, args ...any) {
	l.print(telegraf.Warn, fmt.Sprintf(format, args...))
}
func (l *execdLogger) Warn(args ...any) { l.print(telegraf.Warn, fmt.Sprint(args...)) }
func (l *execdLogger) Infof(format string, args ...any) {
	l.print(telegraf.Info, fmt.Sprintf(format, args...))
}
func (l *execdLogger) Info(args ...any) { l.print(telegraf.Info, fmt.Sprint(args...)) }
func (l *execdLogger) Debugf(format string, args ...any) {
	l.print(telegraf.Debug, fmt.Sprintf(format, args...))
}
func (l *execdLogger) Debug(args ...any) { l.print(telegraf.Debug, fmt.Sprint(args...)) }
func (l *execdLogger) Tracef(format string, args ...any) {
	l.print(telegraf.Trace, fmt.Sprintf(format, args...))
}
func (l *execdLogger) Trace(args ...any) { l.print(telegraf.Trace, fmt.Sprint(args...)) }

// loggedInput is the input as the shim runs it, its errors logged through
// log: the shim's accumulator would log them through the shim's own logger.
type loggedInput struct {
	telegraf.Input
	log telegraf.Logger
}

func (in *loggedInput) Gather(acc telegraf.Accumulator) error {
	return in.Input.Gather(&errorLogger{Accumulator: acc, log: in.log})
}

func (in *loggedInput) Start(acc telegraf.Accumulator) error { return start(in.Input, acc) }
func (in *loggedInput) Stop()                                { stop(in.Input) }

// errorLogger logs the errors added to it as Telegraf's own accumulator
// does, and passes the rest on.
type errorLogger struct {
	telegraf.Accumulator
	log telegraf.Logger
}

func (a *errorLogger) AddError(err error) {
	if err != nil {
		a.log.Errorf("Error in plugin: %v", err)
	}
}
