// spasmwatch wearable firmware for the Seeed Studio XIAO nRF52840 Sense.
//
// Board core: "Seeed nRF52 Boards" (Adafruit nRF52 / Bluefruit based, SoftDevice S140),
// FQBN Seeeduino:nrf52:xiaonRF52840Sense. Build and upload: docs/firmware.md, section
// "Seeed XIAO nRF52840 Sense". Wiring: hardware/wiring.md.
//
// What this file does (everything else is the portable core in firmware/core and the
// vendor-independent board logic in xiao_board.c):
//   - Sampling: TIMER4 at 1 MHz fires COMPARE[0] once per sample period; PPI turns that
//     event into the SAADC's SAMPLE task, which converts AIN0 (EMG L), AIN1 (EMG R) and
//     AIN7 (battery divider) in scan mode into an EasyDMA buffer. No software is involved in
//     the sampling instant, so it is paced by the 32 MHz crystal (the high-frequency crystal
//     is requested from the SoftDevice) and SoftDevice interrupts cannot jitter it. Every
//     SW_XIAO_SAMPLES_PER_DMA sample times the SAADC's END interrupt hands the buffer to the
//     core (sw_device_isr_tick / sw_device_isr_sample) and PPI restarts the SAADC on the other
//     half of a double buffer.
//   - Accelerometer: the on-board LSM6DS3TR-C (Wire1, 0x6A) at 104 Hz output rate is read
//     every 10 ms of device time in loop() and handed to the core with the device time of
//     that 10 ms grid point.
//   - Links: every frame goes to USB serial (when a host has the port open) and as one BLE
//     notification on the data characteristic (protocol section 12); commands arrive on
//     either and are decoded in loop(), never in the BLE task.
//   - Battery: STATUS and the Battery Service report the cell voltage from AIN7, the
//     charger's status pin and USB power.

#include <Arduino.h>
#include <Wire.h>
#include <bluefruit.h>

#include "xiao_config.h"

extern "C" {
#include "sw_device.h"
#include "xiao_board.h"
}

// Pins of the Seeed variant (variants/Seeed_XIAO_nRF52840_Sense/variant.h); older variants
// do not name the charger pins, so fall back to their Arduino pin numbers.
#ifndef BAT_CHARGE_STATE
#define BAT_CHARGE_STATE 23 // P0.17, low while charging
#endif
#ifndef PIN_CHARGING_CURRENT
#define PIN_CHARGING_CURRENT 22 // P0.13, low = 100 mA charge current
#endif

namespace {

constexpr uint8_t kPpiSample = 10; // TIMER4 COMPARE[0] -> SAADC SAMPLE
constexpr uint8_t kPpiRestart = 11; // SAADC END -> SAADC START
constexpr uint32_t kScanChannels = 3; // AIN0, AIN1, AIN7
constexpr uint32_t kDmaLen = kScanChannels * SW_XIAO_SAMPLES_PER_DMA;

sw_device device;
sw_slot ring[SW_XIAO_RING_SLOTS];
xiao_rxq ble_rx;
int16_t dma_buf[2][kDmaLen];
uint8_t dma_pending = 0; // half in RESULT.PTR, latched at the SAADC's next START
uint8_t dma_filling = 0; // half the SAADC is filling now (latched at the last START)
volatile int16_t vbat_raw = 0;
uint64_t device_id = 0;
uint64_t next_accel_us = SW_XIAO_ACCEL_PERIOD_US;
bool imu_ok = false;
uint8_t last_battery_pct = 255;

BLEService sw_service;
BLECharacteristic data_chr;
BLECharacteristic cmd_chr;
BLEBas battery_service;
BLEDis device_information;
char ble_name[16];
char serial_string[17];
char firmware_string[12];

// ---------------------------------------------------------------- port hooks

bool port_send(void *, const uint8_t *frame, size_t len)
{
    bool sent = false;
    if (Serial && Serial.availableForWrite() >= static_cast<int>(len)) {
        Serial.write(frame, len);
        sent = true;
    }
    uint16_t conn = Bluefruit.connHandle();
    if (Bluefruit.connected() && data_chr.notifyEnabled(conn)) {
        uint16_t mtu = Bluefruit.Connection(conn)->getMtu();
        size_t off = 0;
        bool ok = true;
        for (size_t n; ok && (n = xiao_notify_chunk(len, off, mtu)) != 0; off += n) {
            ok = data_chr.notify(conn, frame + off, static_cast<uint16_t>(n));
        }
        sent = sent || ok;
    }
    return sent; // false: no link took it (counted as overflow by the core)
}

void port_set_period(void *, uint32_t period_us)
{
    NRF_TIMER4->TASKS_STOP = 1;
    NRF_TIMER4->TASKS_CLEAR = 1;
    NRF_TIMER4->CC[0] = period_us; // 1 MHz timer: one count per microsecond
    NRF_TIMER4->TASKS_START = 1;
}

void port_irq_lock(void *) { NVIC_DisableIRQ(SAADC_IRQn); }

void port_irq_unlock(void *) { NVIC_EnableIRQ(SAADC_IRQn); }

void port_read_power(void *, sw_power *out)
{
    uint32_t usb = 0;
    (void)sd_power_usbregstatus_get(&usb);
    bool usb_power = (usb & POWER_USBREGSTATUS_VBUSDETECT_Msk) != 0;
    bool charging = digitalRead(BAT_CHARGE_STATE) == LOW;
    xiao_power(vbat_raw, charging, usb_power, out);
}

const sw_port port = {
    nullptr, port_send, nullptr, port_set_period, port_irq_lock, port_irq_unlock, port_read_power,
};

// ---------------------------------------------------------------- sampling hardware

void saadc_channel(uint8_t ch, uint32_t ain, uint32_t gain, uint32_t ref, uint32_t tacq)
{
    NRF_SAADC->CH[ch].PSELP = ain;
    NRF_SAADC->CH[ch].PSELN = SAADC_CH_PSELN_PSELN_NC;
    NRF_SAADC->CH[ch].CONFIG = (SAADC_CH_CONFIG_RESP_Bypass << SAADC_CH_CONFIG_RESP_Pos) |
                               (SAADC_CH_CONFIG_RESN_Bypass << SAADC_CH_CONFIG_RESN_Pos) |
                               (gain << SAADC_CH_CONFIG_GAIN_Pos) |
                               (ref << SAADC_CH_CONFIG_REFSEL_Pos) |
                               (tacq << SAADC_CH_CONFIG_TACQ_Pos) |
                               (SAADC_CH_CONFIG_MODE_SE << SAADC_CH_CONFIG_MODE_Pos) |
                               (SAADC_CH_CONFIG_BURST_Disabled << SAADC_CH_CONFIG_BURST_Pos);
}

void start_sampling_hardware()
{
#if SW_XIAO_ADC_SPAN_VDD
    const uint32_t emg_gain = SAADC_CH_CONFIG_GAIN_Gain1_4;
    const uint32_t emg_ref = SAADC_CH_CONFIG_REFSEL_VDD1_4;
#else
    const uint32_t emg_gain = SAADC_CH_CONFIG_GAIN_Gain1_5;
    const uint32_t emg_ref = SAADC_CH_CONFIG_REFSEL_Internal;
#endif
    NRF_SAADC->ENABLE = 0;
    for (uint8_t ch = 0; ch < 8; ++ch) {
        NRF_SAADC->CH[ch].PSELP = SAADC_CH_PSELP_PSELP_NC;
    }
    saadc_channel(0, SAADC_CH_PSELP_PSELP_AnalogInput0, emg_gain, emg_ref,
                  SAADC_CH_CONFIG_TACQ_10us);
    saadc_channel(1, SAADC_CH_PSELP_PSELP_AnalogInput1, emg_gain, emg_ref,
                  SAADC_CH_CONFIG_TACQ_10us);
    // The battery divider's 338 kOhm source needs the 40 us acquisition time.
    saadc_channel(2, SAADC_CH_PSELP_PSELP_AnalogInput7, SAADC_CH_CONFIG_GAIN_Gain1_5,
                  SAADC_CH_CONFIG_REFSEL_Internal, SAADC_CH_CONFIG_TACQ_40us);
    NRF_SAADC->RESOLUTION = SAADC_RESOLUTION_VAL_12bit;
    NRF_SAADC->OVERSAMPLE = SAADC_OVERSAMPLE_OVERSAMPLE_Bypass;
    NRF_SAADC->SAMPLERATE = SAADC_SAMPLERATE_MODE_Task << SAADC_SAMPLERATE_MODE_Pos;
    NRF_SAADC->RESULT.PTR = reinterpret_cast<uint32_t>(dma_buf[0]);
    NRF_SAADC->RESULT.MAXCNT = kDmaLen;
    NRF_SAADC->INTENSET = SAADC_INTENSET_END_Msk | SAADC_INTENSET_STARTED_Msk;
    NRF_SAADC->ENABLE = 1;
    NVIC_SetPriority(SAADC_IRQn, 3); // below the SoftDevice's 0, 1 and 4
    NVIC_ClearPendingIRQ(SAADC_IRQn);
    NVIC_EnableIRQ(SAADC_IRQn);

    NRF_TIMER4->MODE = TIMER_MODE_MODE_Timer;
    NRF_TIMER4->BITMODE = TIMER_BITMODE_BITMODE_32Bit;
    NRF_TIMER4->PRESCALER = 4; // 16 MHz / 2^4 = 1 MHz
    NRF_TIMER4->SHORTS = TIMER_SHORTS_COMPARE0_CLEAR_Msk;

    // PPI belongs to the SoftDevice once it runs: assign channels through its API.
    sd_ppi_channel_assign(kPpiSample, &NRF_TIMER4->EVENTS_COMPARE[0], &NRF_SAADC->TASKS_SAMPLE);
    sd_ppi_channel_assign(kPpiRestart, &NRF_SAADC->EVENTS_END, &NRF_SAADC->TASKS_START);
    sd_ppi_channel_enable_set((1u << kPpiSample) | (1u << kPpiRestart));

    dma_pending = 0;
    NRF_SAADC->TASKS_START = 1; // its STARTED event queues the second half
}

} // namespace

extern "C" void SAADC_IRQHandler(void)
{
    // END before STARTED: when both are pending, END belongs to the half latched at the
    // previous START, and STARTED to the START that PPI triggered right after that END.
    if (NRF_SAADC->EVENTS_END) {
        NRF_SAADC->EVENTS_END = 0;
        const int16_t *buf = dma_buf[dma_filling];
        for (uint32_t i = 0; i < SW_XIAO_SAMPLES_PER_DMA; ++i) {
            const int16_t *row = &buf[i * kScanChannels];
            if (sw_device_isr_tick(&device)) {
                int16_t counts[SW_XIAO_EMG_CHANNELS] = {xiao_counts_from_saadc(row[0]),
                                                         xiao_counts_from_saadc(row[1])};
                sw_device_isr_sample(&device, counts);
            }
        }
        vbat_raw = buf[(SW_XIAO_SAMPLES_PER_DMA - 1) * kScanChannels + 2];
    }
    if (NRF_SAADC->EVENTS_STARTED) {
        NRF_SAADC->EVENTS_STARTED = 0;
        // The SAADC latched RESULT.PTR: queue the other half for its next START.
        dma_filling = dma_pending;
        dma_pending ^= 1u;
        NRF_SAADC->RESULT.PTR = reinterpret_cast<uint32_t>(dma_buf[dma_pending]);
    }
}

namespace {

// ---------------------------------------------------------------- accelerometer

constexpr uint8_t kImuAddr = SW_LSM6_I2C_ADDR;

bool imu_write(uint8_t reg, uint8_t value)
{
    Wire1.beginTransmission(kImuAddr);
    Wire1.write(reg);
    Wire1.write(value);
    return Wire1.endTransmission() == 0;
}

bool imu_read(uint8_t reg, uint8_t *out, uint8_t n)
{
    Wire1.beginTransmission(kImuAddr);
    Wire1.write(reg);
    if (Wire1.endTransmission(false) != 0 || Wire1.requestFrom(kImuAddr, n) != n) {
        return false;
    }
    for (uint8_t i = 0; i < n; ++i) {
        out[i] = static_cast<uint8_t>(Wire1.read());
    }
    return true;
}

bool imu_begin()
{
    pinMode(PIN_LSM6DS3TR_C_POWER, OUTPUT);
    digitalWrite(PIN_LSM6DS3TR_C_POWER, HIGH);
    delay(20); // power-up time (DS12208: 15 ms boot)
    Wire1.begin();
    Wire1.setClock(400000);
    uint8_t who = 0;
    return imu_read(SW_LSM6_WHO_AM_I, &who, 1) && who == SW_LSM6_WHO_AM_I_VALUE &&
           imu_write(SW_LSM6_CTRL3_C, SW_LSM6_CTRL3_C_BDU_IF_INC) &&
           imu_write(SW_LSM6_CTRL1_XL, SW_LSM6_CTRL1_XL_104HZ_2G);
}

void poll_accel()
{
    uint64_t now = sw_device_now_us(&device);
    while (now >= next_accel_us) {
        uint8_t regs[6];
        int16_t xyz[3];
        if (imu_ok && imu_read(SW_LSM6_OUTX_L_XL, regs, sizeof regs)) {
            xiao_imu_to_body(regs, xyz);
            // Only the newest grid point gets the reading; older ones (the loop was held up)
            // are skipped, and the core's ACCEL indices show the gap.
            if (now - next_accel_us < SW_XIAO_ACCEL_PERIOD_US) {
                sw_device_accel(&device, next_accel_us, xyz);
            }
        }
        next_accel_us += SW_XIAO_ACCEL_PERIOD_US;
    }
}

// ---------------------------------------------------------------- BLE

void on_command_write(uint16_t, BLECharacteristic *, uint8_t *data, uint16_t len)
{
    xiao_rxq_put(&ble_rx, data, len); // decoded in loop(), not in the BLE task
}

void start_ble()
{
    // ATT MTU 247 and long connection events (protocol 12.2); before Bluefruit.begin().
    Bluefruit.configPrphBandwidth(BANDWIDTH_MAX);
    Bluefruit.begin();
    Bluefruit.setTxPower(4);
    xiao_ble_name(device_id, ble_name);
    Bluefruit.setName(ble_name);
    // 15-30 ms interval (units of 1.25 ms), 4 s supervision timeout (units of 10 ms).
    Bluefruit.Periph.setConnInterval(12, 24);
    Bluefruit.Periph.setConnSupervisionTimeout(400);

    static uint8_t uuid[3][16]; // BLEUuid keeps a pointer to its bytes
    for (unsigned i = 0; i < 3; ++i) {
        xiao_uuid_le(i, uuid[i]);
    }
    sw_service.setUuid(BLEUuid(uuid[0]));
    data_chr.setUuid(BLEUuid(uuid[1]));
    cmd_chr.setUuid(BLEUuid(uuid[2]));

    sw_service.begin();
    data_chr.setProperties(CHR_PROPS_NOTIFY);
    data_chr.setPermission(SECMODE_OPEN, SECMODE_NO_ACCESS);
    data_chr.setMaxLen(SW_MAX_ENCODED);
    data_chr.begin();
    cmd_chr.setProperties(CHR_PROPS_WRITE);
    cmd_chr.setPermission(SECMODE_NO_ACCESS, SECMODE_OPEN);
    cmd_chr.setMaxLen(SW_RX_MAX);
    cmd_chr.setWriteCallback(on_command_write);
    cmd_chr.begin();

    xiao_serial_string(device_id, serial_string);
    xiao_firmware_string(firmware_string);
    device_information.setManufacturer("spasmwatch");
    device_information.setModel(device.board->board);
    device_information.setSerialNum(serial_string);
    device_information.setFirmwareRev(firmware_string);
    device_information.begin();
    battery_service.begin();
    battery_service.write(0);

    // Advertising (protocol 12.3): flags + service UUID, name in the scan response,
    // 20 ms for 30 s then 152.5 ms (units of 0.625 ms).
    Bluefruit.Advertising.addFlags(BLE_GAP_ADV_FLAGS_LE_ONLY_GENERAL_DISC_MODE);
    Bluefruit.Advertising.addService(sw_service);
    Bluefruit.ScanResponse.addName();
    Bluefruit.Advertising.restartOnDisconnect(true);
    Bluefruit.Advertising.setInterval(32, 244);
    Bluefruit.Advertising.setFastTimeout(30);
    Bluefruit.Advertising.start(0);
}

void update_battery_service()
{
    sw_power power;
    port_read_power(nullptr, &power);
    if (power.battery_pct != last_battery_pct) {
        last_battery_pct = power.battery_pct;
        battery_service.write(power.battery_pct);
        if (Bluefruit.connected()) {
            battery_service.notify(power.battery_pct);
        }
    }
}

} // namespace

void setup()
{
    Serial.begin(115200); // USB CDC: the rate is ignored

    pinMode(VBAT_ENABLE, OUTPUT);
    digitalWrite(VBAT_ENABLE, LOW); // battery divider on; never drive this pin high
    pinMode(BAT_CHARGE_STATE, INPUT);
    pinMode(PIN_CHARGING_CURRENT, OUTPUT);
    digitalWrite(PIN_CHARGING_CURRENT, LOW); // 100 mA charge current

    device_id = (static_cast<uint64_t>(NRF_FICR->DEVICEID[1]) << 32) | NRF_FICR->DEVICEID[0];
    if (!sw_device_init(&device, xiao_board(device_id), &port, ring, SW_XIAO_RING_SLOTS)) {
        pinMode(LED_RED, OUTPUT);
        for (;;) { // a build error: blink red
            digitalWrite(LED_RED, !digitalRead(LED_RED));
            delay(100);
        }
    }
    start_ble();
    sd_clock_hfclk_request(); // keep the 32 MHz crystal running: it paces the samples
    imu_ok = imu_begin();
    start_sampling_hardware(); // after Bluefruit.begin(): PPI goes through the SoftDevice
}

void loop()
{
    uint8_t buf[64];
    size_t n;
    while ((n = xiao_rxq_get(&ble_rx, buf, sizeof buf)) != 0) {
        sw_device_rx(&device, buf, n);
    }
    while (Serial && Serial.available() > 0) {
        n = static_cast<size_t>(Serial.readBytes(buf, min(Serial.available(), 64)));
        sw_device_rx(&device, buf, n);
    }
    sw_device_poll(&device);
    poll_accel();
    static uint32_t last_battery_ms = 0;
    if (millis() - last_battery_ms >= 1000) {
        last_battery_ms = millis();
        update_battery_service();
    }
    yield();
}
