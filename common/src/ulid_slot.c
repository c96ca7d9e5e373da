/*
 * ulid_slot.c - ULIDs placed in a Redis Cluster key slot (peace/ulid.h).
 *
 * CRC16-XMODEM has no initial value and no final xor, so it is linear over
 * GF(2) for messages of one length: crc(a ^ b) = crc(a) ^ crc(b), and leading
 * zero bytes do not change it. An id is its first 22 digits P followed by a
 * 4-digit suffix S, so crc(P S) = crc(P 0000) ^ crc(S): the slot wanted
 * fixes the low 14 bits crc(S) must have, and slot_suffix (generated, see
 * common/tools/gen_ulid_slot_table.py) holds, for each of the 16384 values,
 * a suffix whose CRC has them (every value is reached by some 4-digit
 * suffix; 3 digits reach only 14588 of them).
 */
#include "peace/ulid.h"

#include "ulid_slot_table.h"

static const char alphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

uint16_t pc_crc16(uint16_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;

    for (size_t i = 0; i < n; i++) {
        crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ b[i]) & 0xffu]);
    }
    return crc;
}

unsigned pc_key_slot(const void *p, size_t n)
{
    return pc_crc16(0, p, n) & (PC_KEY_SLOTS - 1u);
}

void pc_ulid_set_slot(char id[PC_ULID_LEN], unsigned slot)
{
    static const unsigned char zeros[PC_ULID_SLOT_DIGITS] = {0};
    size_t head = PC_ULID_LEN - PC_ULID_SLOT_DIGITS;
    uint16_t crc = pc_crc16(pc_crc16(0, id, head), zeros, sizeof(zeros));
    uint32_t code = slot_suffix[(crc ^ slot) & (PC_KEY_SLOTS - 1u)];

    for (size_t k = 0; k < PC_ULID_SLOT_DIGITS; k++) {
        id[head + k] = alphabet[(code >> (5u * (PC_ULID_SLOT_DIGITS - 1u - k))) & 31u];
    }
}
