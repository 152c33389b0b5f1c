// Command ferretdb runs an embedded FerretDB (SQLite backend) server that
// speaks the MongoDB wire protocol, for tests and CI where a real MongoDB
// cannot be installed.
//
// Usage:
//
//	ferretdb --sqlite-dir DIR/ [--listen-addr 127.0.0.1:27017] [--log-level warn]
//
// Once the server accepts connections and answers a wire-protocol "hello",
// exactly one line is printed to stdout: the mongodb:// connection string.
// The server then runs until SIGINT or SIGTERM, shuts down and exits 0.
// Logs go to stderr.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	os.Exit(run())
}

func run() int {
	listenAddr := flag.String("listen-addr", "127.0.0.1:27017", "TCP address to listen on (port 0 picks a free port)")
	sqliteDir := flag.String("sqlite-dir", "", "directory for SQLite database files (required; created if missing)")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn, error")
	flag.Parse()

	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "ferretdb: unexpected arguments: %v\n", flag.Args())
		flag.Usage()
		return 2
	}

	if *sqliteDir == "" {
		fmt.Fprintln(os.Stderr, "ferretdb: --sqlite-dir is required")
		flag.Usage()
		return 2
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: invalid --log-level %q: %v\n", *logLevel, err)
		return 2
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(logger)

	dir, err := filepath.Abs(*sqliteDir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		return 1
	}

	if err = os.MkdirAll(dir, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: creating sqlite dir: %v\n", err)
		return 1
	}

	// FerretDB wants a file: URI of a directory, ending with "/".
	sqliteURL := (&url.URL{Scheme: "file", Path: strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/"}).String()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listenAddr},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: sqliteURL,
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		return 1
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	done := make(chan error, 1)

	go func() { done <- f.Run(ctx) }()

	// The TCP socket is bound by ferretdb.New; MongoDBURI resolves port 0.
	uri := f.MongoDBURI()

	u, err := url.Parse(uri)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: bad URI %q: %v\n", uri, err)
		return 1
	}

	if err = waitReady(ctx, u.Host, 30*time.Second); err != nil {
		stop()
		<-done
		if ctx.Err() != nil {
			return 0
		}
		fmt.Fprintf(os.Stderr, "ferretdb: server did not become ready: %v\n", err)
		return 1
	}

	fmt.Println(uri)

	if err = <-done; err != nil {
		fmt.Fprintf(os.Stderr, "ferretdb: %v\n", err)
		return 1
	}

	return 0
}

// waitReady connects to addr until the server answers an OP_MSG hello.
func waitReady(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)

	var err error
	for {
		if err = hello(addr); err == nil {
			return nil
		}

		if time.Now().After(deadline) {
			return err
		}

		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// hello sends {hello: 1, $db: "admin"} as OP_MSG and checks that an OP_MSG reply arrives.
func hello(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()

	if err = conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}

	// BSON document {hello: int32(1), $db: "admin"}.
	var doc []byte
	doc = append(doc, 0, 0, 0, 0) // length placeholder
	doc = append(doc, 0x10)
	doc = append(doc, "hello\x00"...)
	doc = binary.LittleEndian.AppendUint32(doc, 1)
	doc = append(doc, 0x02)
	doc = append(doc, "$db\x00"...)
	doc = binary.LittleEndian.AppendUint32(doc, uint32(len("admin")+1))
	doc = append(doc, "admin\x00"...)
	doc = append(doc, 0)
	binary.LittleEndian.PutUint32(doc, uint32(len(doc)))

	const opMsg = 2013

	var msg []byte
	msg = append(msg, 0, 0, 0, 0)                  // length placeholder
	msg = binary.LittleEndian.AppendUint32(msg, 1) // requestID
	msg = binary.LittleEndian.AppendUint32(msg, 0) // responseTo
	msg = binary.LittleEndian.AppendUint32(msg, opMsg)
	msg = binary.LittleEndian.AppendUint32(msg, 0) // flagBits
	msg = append(msg, 0)                           // section kind 0: body
	msg = append(msg, doc...)
	binary.LittleEndian.PutUint32(msg, uint32(len(msg)))

	if _, err = conn.Write(msg); err != nil {
		return err
	}

	r := bufio.NewReader(conn)

	header := make([]byte, 16)
	if _, err = io.ReadFull(r, header); err != nil {
		return err
	}

	length := binary.LittleEndian.Uint32(header[0:4])
	responseTo := binary.LittleEndian.Uint32(header[8:12])
	opCode := binary.LittleEndian.Uint32(header[12:16])

	if opCode != opMsg || responseTo != 1 || length < 16 || length > 48<<20 {
		return errors.New("unexpected reply to hello")
	}

	_, err = io.CopyN(io.Discard, r, int64(length-16))

	return err
}
