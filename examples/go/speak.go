// Stream a WAV through lipsync's Speak over gRPC, as a voice agent's TTS would, and count the
// lip-synced frames that come back; checks grpc.health.v1 first. Go stubs come from the
// repository's proto/ (buf generate --template buf.gen.other.yaml writes gen/go); run with
// bash examples/go/run.sh HOST:PORT FILE.wav, which builds offline against Debian's Go packages.
package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	lipsyncv1 "github.com/lipsync/lipsync/gen/go/lipsync/v1"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// readWav returns the rate and the 16-bit PCM of a mono WAV file, walking its chunks.
func readWav(path string) (uint32, []byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, fmt.Errorf("%s is not a WAV file", path)
	}
	var rate uint32
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if binary.LittleEndian.Uint16(b[body+2:]) != 1 || binary.LittleEndian.Uint16(b[body+14:]) != 16 {
				return 0, nil, fmt.Errorf("this example streams 16-bit mono WAV")
			}
			rate = binary.LittleEndian.Uint32(b[body+4:])
		case "data":
			end := body + size
			if end > len(b) {
				end = len(b)
			}
			return rate, b[body:end], nil
		}
		off = body + size + size%2
	}
	return 0, nil, fmt.Errorf("%s has no data chunk", path)
}

func main() {
	target, path := "localhost:8080", "models/heldout/gate-0.wav"
	if len(os.Args) > 2 {
		target, path = os.Args[1], os.Args[2]
	}
	rate, pcm, err := readWav(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, err := grpc.DialContext(ctx, target, grpc.WithInsecure(), grpc.WithBlock())
	if err != nil {
		fmt.Fprintln(os.Stderr, "connect:", err)
		os.Exit(1)
	}
	defer conn.Close()

	health, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "lipsync.v1.LipSyncService"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "health:", err)
		os.Exit(1)
	}

	stream, err := lipsyncv1.NewLipSyncServiceClient(conn).Speak(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "speak:", err)
		os.Exit(1)
	}
	start := time.Now()
	go func() {
		send := func(r *lipsyncv1.SpeakRequest) bool { return stream.Send(r) == nil }
		if !send(&lipsyncv1.SpeakRequest{Message: &lipsyncv1.SpeakRequest_Config{Config: &lipsyncv1.SpeakConfig{
			Avatar: "demo", AudioFormat: &lipsyncv1.AudioFormat{Encoding: lipsyncv1.AudioEncoding_AUDIO_ENCODING_PCM_S16LE, SampleRate: rate, Channels: 1},
		}}}) {
			return
		}
		step := int(rate/50) * 2 // 20 ms chunks, as a TTS streams them
		for i := 0; i < len(pcm); i += step {
			end := i + step
			if end > len(pcm) {
				end = len(pcm)
			}
			if !send(&lipsyncv1.SpeakRequest{Message: &lipsyncv1.SpeakRequest_Audio{Audio: &lipsyncv1.AudioChunk{Data: pcm[i:end]}}}) {
				return
			}
		}
		send(&lipsyncv1.SpeakRequest{Message: &lipsyncv1.SpeakRequest_End{End: &lipsyncv1.EndOfSpeech{}}})
	}()

	frames, firstMs := 0, 0.0
	for {
		r, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "receive:", err)
			os.Exit(1)
		}
		if f := r.GetFrame(); f != nil && f.Kind == lipsyncv1.FrameKind_FRAME_KIND_SPEECH {
			if frames == 0 {
				firstMs = float64(time.Since(start).Microseconds()) / 1000
			}
			frames++
		}
		if r.GetPlaybackFinished() != nil {
			break
		}
	}
	cancel()
	samples16k := math.Ceil(float64(len(pcm)/2) * 16000 / float64(rate))
	out, _ := json.Marshal(map[string]interface{}{
		"health": health.Status.String(), "frames": frames, "expected": int(math.Ceil(samples16k / 640)), "first_frame_ms": math.Round(firstMs),
	})
	fmt.Println(string(out))
}
