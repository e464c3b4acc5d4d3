#!/bin/sh
# Regenerates the two alert sounds with sox (run from data/sounds). CC0, made by the Wrenchbell authors.
set -e
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Chime: two soft tones (E5 then A5, sine with a gentle second harmonic), 0.8 s in all.
sox -n -r 48000 -c 1 "$T/a.wav" synth 0.35 sine 659.26 sine 1318.5 remix 1v0.8,2v0.2 fade q 0.01 0.35 0.25
sox -n -r 48000 -c 1 "$T/b.wav" synth 0.45 sine 880 sine 1760 remix 1v0.8,2v0.2 fade q 0.01 0.45 0.4
sox "$T/a.wav" "$T/b.wav" -C 4 -t ogg wrenchbell-chime.oga gain -n -6
# Urgent: three short B5 beeps (softened square wave), 0.15 s on / 0.08 s off.
sox -n -r 48000 -c 1 "$T/beep.wav" synth 0.15 square 987.77 vol 0.5 lowpass 2500 fade q 0.005 0.15 0.02
sox -n -r 48000 -c 1 "$T/gap.wav" trim 0 0.08
sox "$T/beep.wav" "$T/gap.wav" "$T/beep.wav" "$T/gap.wav" "$T/beep.wav" -C 4 -t ogg wrenchbell-urgent.oga gain -n -4
