/*
 * Firmware-in-the-loop harness: runs the real Uno ELF in simavr (libsimavr), feeds A0/A1 from
 * a signal file and bridges USART0 to a pseudo-terminal that the host opens like a serial port.
 *
 *   sw_simavr --elf FILE --signal FILE [--link PATH] [--mode block|drop|hold]
 *             [--period-us 1000] [--max-sim-s S] [--max-wall-s S] [--stats FILE]
 *
 * Signal file: little-endian int16 millivolts at the ADC pins, interleaved A0, A1 per sample
 * time; sample time k (device time k * period_us, k = 1 for the first timer tick) gets
 * record k modulo the number of records (k is the tick nearest to the conversion's start, so
 * both channels' conversions, 104 us apart, belong to the same sample time). The value is put on the pin when the firmware
 * starts that pin's conversion (simavr's ADC trigger), so what the ADC converts is exact.
 *
 * Bridge modes, when the host does not read fast enough and the pty's buffer fills:
 *   block  the simulation waits (the AVR's clock stops): nothing is ever lost
 *   drop   bytes are discarded, like simavr's stock uart_pty
 *   hold   the simulation runs on and D2 is pulled LOW (the firmware's hold input) until the
 *          backlog drains: the firmware buffers, then counts overflow_samples
 *
 * The AVR is held in reset until the host's first byte arrives (pyserial flushes the input
 * when it opens the port, so nothing may be sent before that). The harness prints
 * "PTY <path>" on stdout, and at exit a JSON line of statistics (also to --stats FILE).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "avr_adc.h"
#include "avr_ioport.h"
#include "avr_uart.h"
#include "sim_avr.h"
#include "sim_elf.h"
#include "sim_irq.h"

#define OUT_CAP (1u << 16)
#define IN_CAP 4096u
#define BLOCK_THRESHOLD 512u /* block: wait once this much is queued for the pty */
#define HOLD_HIGH 1024u      /* hold: pull D2 low above this backlog ... */
#define HOLD_LOW 256u        /* ... and release it below this one */
#define STEPS 20000          /* instructions between two IO services (about 1.5 ms) */

enum mode { MODE_BLOCK, MODE_DROP, MODE_HOLD };

static struct {
    avr_t *avr;
    int master;
    enum mode mode;
    int16_t *signal;
    size_t n_records;
    uint32_t period_us;
    uint8_t out[OUT_CAP];
    size_t out_head, out_len;
    uint8_t in[IN_CAP];
    size_t in_len;
    int xon;
    int held;
    avr_irq_t *uart_in;
    avr_irq_t *adc_in[2];
    avr_irq_t *hold_pin;
    /* statistics */
    unsigned long long bytes_out, bytes_in, bytes_dropped, adc_conversions, hold_events;
    double blocked_wall_s, held_sim_s, hold_started_sim_s;
    volatile sig_atomic_t stop;
} h;

static double wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double sim_seconds(void)
{
    return (double)h.avr->cycle / (double)h.avr->frequency;
}

static void die(const char *what)
{
    fprintf(stderr, "sw_simavr: %s\n", what);
    exit(2);
}

static void on_uart_out(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    if (h.out_len == OUT_CAP) {
        ++h.bytes_dropped;
        return;
    }
    h.out[(h.out_head + h.out_len) % OUT_CAP] = (uint8_t)value;
    ++h.out_len;
    ++h.bytes_out;
}

static void on_xon(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    if (value) h.xon = 1;
}

static void on_xoff(struct avr_irq_t *irq, uint32_t value, void *param)
{
    (void)irq;
    (void)param;
    if (value) h.xon = 0;
}

static void on_adc_trigger(struct avr_irq_t *irq, uint32_t value, void *param)
{
    union {
        avr_adc_mux_t mux;
        uint32_t v;
    } e;
    uint64_t cycles_per_tick;
    size_t k;
    (void)irq;
    (void)param;
    e.v = value;
    if (e.mux.kind != ADC_MUX_SINGLE || e.mux.src > 1 || h.n_records == 0) return;
    /* The conversion starts a few microseconds after tick k (A0) or one conversion later
     * (A1, +104 us); simavr's Timer1 fires half a timer count early. Nearest tick it is. */
    cycles_per_tick = (uint64_t)h.period_us * h.avr->frequency / 1000000ull;
    k = (size_t)(((h.avr->cycle + cycles_per_tick / 2) / cycles_per_tick) % h.n_records);
    avr_raise_irq(h.adc_in[e.mux.src], (uint32_t)(uint16_t)h.signal[2 * k + e.mux.src]);
    ++h.adc_conversions;
}

/* Move bytes: pty -> AVR input queue -> UART; UART output queue -> pty. 0 when the host left. */
static int service_io(void)
{
    ssize_t n;
    if (h.in_len < IN_CAP) {
        n = read(h.master, h.in + h.in_len, IN_CAP - h.in_len);
        if (n > 0) {
            h.in_len += (size_t)n;
            h.bytes_in += (unsigned long long)n;
        } else if (n < 0 && errno == EIO) {
            return 0; /* the host closed the port */
        }
    }
    if (h.xon && h.in_len > 0) {
        /* Into the UART's receive FIFO until it says XOFF; it delivers them at the line rate. */
        size_t k = 0;
        while (h.xon && k < h.in_len) avr_raise_irq(h.uart_in, h.in[k++]);
        memmove(h.in, h.in + k, h.in_len - k);
        h.in_len -= k;
    }
    while (h.out_len > 0) {
        size_t chunk = h.out_len;
        if (h.out_head + chunk > OUT_CAP) chunk = OUT_CAP - h.out_head;
        n = write(h.master, h.out + h.out_head, chunk);
        if (n <= 0) {
            if (n < 0 && errno == EIO) return 0;
            break; /* EAGAIN: the pty's buffer is full, the host lags */
        }
        h.out_head = (h.out_head + (size_t)n) % OUT_CAP;
        h.out_len -= (size_t)n;
    }
    if (h.mode == MODE_DROP && h.out_len > BLOCK_THRESHOLD) {
        h.bytes_dropped += h.out_len;
        h.out_len = 0;
    } else if (h.mode == MODE_HOLD) {
        if (!h.held && h.out_len > HOLD_HIGH) {
            h.held = 1;
            ++h.hold_events;
            h.hold_started_sim_s = sim_seconds();
            avr_raise_irq(h.hold_pin, 0);
        } else if (h.held && h.out_len < HOLD_LOW) {
            h.held = 0;
            h.held_sim_s += sim_seconds() - h.hold_started_sim_s;
            avr_raise_irq(h.hold_pin, 1);
        }
    }
    return 1;
}

/* block mode: wait (the AVR stands still) until the pty takes the backlog. */
static int wait_for_reader(double deadline)
{
    double t0 = wall_now();
    while (h.out_len > BLOCK_THRESHOLD && !h.stop) {
        struct pollfd p = {h.master, POLLOUT, 0};
        if (wall_now() > deadline) break;
        poll(&p, 1, 50);
        if (p.revents & POLLHUP) return 0;
        if (!service_io()) return 0;
    }
    h.blocked_wall_s += wall_now() - t0;
    return 1;
}

/* simavr's default sleep callback sleeps in real time; fast-forward instead. */
static void no_sleep(avr_t *avr, avr_cycle_count_t how_long)
{
    (void)avr;
    (void)how_long;
}

static void on_signal(int sig)
{
    (void)sig;
    h.stop = 1;
}

static void load_signal(const char *path)
{
    FILE *f = fopen(path, "rb");
    long size;
    if (f == NULL) die("cannot open the signal file");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (size < 4) die("signal file is empty");
    h.signal = malloc((size_t)size);
    if (h.signal == NULL || fread(h.signal, 1, (size_t)size, f) != (size_t)size) die("cannot read the signal file");
    fclose(f);
    h.n_records = (size_t)size / 4u;
}

int main(int argc, char **argv)
{
    const char *elf = NULL, *signal_path = NULL, *link = NULL, *stats_path = NULL;
    double max_sim_s = 60.0, max_wall_s = 120.0, wall_start, deadline, go_wall;
    elf_firmware_t fw;
    uint32_t flags = 0;
    char *slave;
    int i, state = cpu_Running, reason = 0;
    static const char *reasons[] = {"max_sim_s", "host_closed", "signal", "max_wall_s", "cpu_stopped"};
    FILE *stats;
    char line[1024];

    h.period_us = 1000;
    h.mode = MODE_BLOCK;
    for (i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--elf")) elf = argv[i + 1];
        else if (!strcmp(argv[i], "--signal")) signal_path = argv[i + 1];
        else if (!strcmp(argv[i], "--link")) link = argv[i + 1];
        else if (!strcmp(argv[i], "--stats")) stats_path = argv[i + 1];
        else if (!strcmp(argv[i], "--period-us")) h.period_us = (uint32_t)atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-sim-s")) max_sim_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-wall-s")) max_wall_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--mode")) {
            if (!strcmp(argv[i + 1], "block")) h.mode = MODE_BLOCK;
            else if (!strcmp(argv[i + 1], "drop")) h.mode = MODE_DROP;
            else if (!strcmp(argv[i + 1], "hold")) h.mode = MODE_HOLD;
            else die("--mode must be block, drop or hold");
        } else {
            fprintf(stderr, "sw_simavr: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (elf == NULL || signal_path == NULL || h.period_us == 0) {
        fprintf(stderr, "usage: %s --elf FILE --signal FILE [--link PATH] [--mode block|drop|hold] "
                        "[--period-us N] [--max-sim-s S] [--max-wall-s S] [--stats FILE]\n", argv[0]);
        return 2;
    }
    load_signal(signal_path);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    memset(&fw, 0, sizeof fw);
    if (elf_read_firmware(elf, &fw) != 0) die("cannot read the ELF file");
    h.avr = avr_make_mcu_by_name("atmega328p");
    if (h.avr == NULL) die("simavr has no atmega328p core");
    avr_init(h.avr);
    avr_load_firmware(h.avr, &fw);
    h.avr->frequency = 16000000;
    h.avr->vcc = h.avr->avcc = h.avr->aref = 5000; /* millivolts */
    h.avr->log = 0;
    h.avr->sleep = no_sleep;

    avr_ioctl(h.avr, AVR_IOCTL_UART_GET_FLAGS('0'), &flags);
    flags &= ~(uint32_t)(AVR_UART_FLAG_STDIO | AVR_UART_FLAG_POLL_SLEEP);
    avr_ioctl(h.avr, AVR_IOCTL_UART_SET_FLAGS('0'), &flags);
    avr_irq_register_notify(avr_io_getirq(h.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUTPUT), on_uart_out, NULL);
    avr_irq_register_notify(avr_io_getirq(h.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XON), on_xon, NULL);
    avr_irq_register_notify(avr_io_getirq(h.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_OUT_XOFF), on_xoff, NULL);
    h.uart_in = avr_io_getirq(h.avr, AVR_IOCTL_UART_GETIRQ('0'), UART_IRQ_INPUT);
    avr_irq_register_notify(avr_io_getirq(h.avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_OUT_TRIGGER), on_adc_trigger, NULL);
    h.adc_in[0] = avr_io_getirq(h.avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC0);
    h.adc_in[1] = avr_io_getirq(h.avr, AVR_IOCTL_ADC_GETIRQ, ADC_IRQ_ADC1);
    h.hold_pin = avr_io_getirq(h.avr, AVR_IOCTL_IOPORT_GETIRQ('D'), 2);
    if (h.uart_in == NULL || h.adc_in[0] == NULL || h.hold_pin == NULL) die("simavr IRQs missing");

    h.master = posix_openpt(O_RDWR | O_NOCTTY);
    if (h.master < 0 || grantpt(h.master) != 0 || unlockpt(h.master) != 0) die("cannot create a pty");
    {
        struct termios tio;
        if (tcgetattr(h.master, &tio) == 0) {
            cfmakeraw(&tio);
            tcsetattr(h.master, TCSANOW, &tio);
        }
    }
    fcntl(h.master, F_SETFL, fcntl(h.master, F_GETFL) | O_NONBLOCK);
    slave = ptsname(h.master);
    if (link != NULL) {
        unlink(link);
        if (symlink(slave, link) != 0) die("cannot create the --link symlink");
    }
    printf("PTY %s\n", slave);
    fflush(stdout);

    /* Hold the AVR until the host has opened the port and written its first byte. */
    wall_start = wall_now();
    deadline = wall_start + max_wall_s;
    while (h.in_len == 0 && !h.stop) {
        struct pollfd p = {h.master, POLLIN, 0};
        if (wall_now() > deadline) { reason = 3; break; }
        poll(&p, 1, 20);
        if (p.revents & POLLHUP) { usleep(5000); continue; } /* nobody has opened it yet */
        if (p.revents & POLLIN) {
            ssize_t n = read(h.master, h.in, IN_CAP);
            if (n > 0) { h.in_len = (size_t)n; h.bytes_in += (unsigned long long)n; }
        }
    }
    go_wall = wall_now();
    avr_raise_irq(h.hold_pin, 1);

    while (reason == 0) {
        for (i = 0; i < STEPS; ++i) {
            state = avr_run(h.avr);
            if (state == cpu_Done || state == cpu_Crashed) break;
        }
        if (state == cpu_Done || state == cpu_Crashed) { reason = 4; break; }
        if (!service_io()) { reason = 1; break; }
        if (h.mode == MODE_BLOCK && h.out_len > BLOCK_THRESHOLD && !wait_for_reader(deadline)) { reason = 1; break; }
        if (h.stop) reason = 2;
        else if (sim_seconds() >= max_sim_s) reason = -1;
        else if (wall_now() > deadline) reason = 3;
    }
    if (reason == -1) reason = 0; /* max_sim_s */
    /* Give the host the last bytes. */
    {
        double until = wall_now() + 1.0;
        while (h.out_len > 0 && wall_now() < until && service_io()) usleep(1000);
    }
    if (h.held) h.held_sim_s += sim_seconds() - h.hold_started_sim_s;
    {
        double wall = wall_now() - go_wall;
        snprintf(line, sizeof line,
                 "{\"stop_reason\": \"%s\", \"sim_s\": %.6f, \"wall_s\": %.3f, \"speed\": %.3f, "
                 "\"blocked_wall_s\": %.3f, \"bytes_out\": %llu, \"bytes_in\": %llu, "
                 "\"bytes_dropped\": %llu, \"adc_conversions\": %llu, \"hold_events\": %llu, "
                 "\"held_sim_s\": %.6f, \"cpu_state\": %d}\n",
                 reasons[reason], sim_seconds(), wall, wall > 0 ? sim_seconds() / wall : 0.0,
                 h.blocked_wall_s, h.bytes_out, h.bytes_in, h.bytes_dropped, h.adc_conversions,
                 h.hold_events, h.held_sim_s, state);
    }
    fputs(line, stdout);
    fflush(stdout);
    if (stats_path != NULL && (stats = fopen(stats_path, "w")) != NULL) {
        fputs(line, stats);
        fclose(stats);
    }
    if (link != NULL) unlink(link);
    return (reason == 4) ? 1 : 0;
}
