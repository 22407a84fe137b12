// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title What a channel holds of one asset, packed in one slot
 * @author Clearline
 * @notice The per-asset record of a channel: its flags and what is held for each participant.
 * @dev Internal functions only: inlined into the Adjudicator, no deployment of their own.
 */
library Holdings {
    /// @dev Per channel and asset. Signed: a participant may withdraw, without closing, funds it
    /// received off chain, so what the adjudicator holds "for" it can fall below zero. Once the
    /// channel is concluded it holds nothing, and asset 0's `available0` keeps the concluded nonce.
    struct Holding {
        uint8 flags;
        int120 available0; // deposits(0) - paid(0)
        int120 available1; // deposits(1) - paid(1)
    }

    uint8 internal constant OPENED = 1; // in asset 0's flags
    uint8 internal constant CONCLUDED = 2; // in asset 0's flags
    uint8 internal constant PROBED = 4; // the token was probed for IRestrictedToken
    uint8 internal constant RESTRICTED = 8; // ... and supports it
    /// @dev Asset 0's flags once the channel is concluded.
    uint8 internal constant CONCLUDED_FLAGS = OPENED | CONCLUDED;

    /**
     * @notice Writes `holding` to `slot` with one SSTORE (the compiler writes a packed struct field by
     * field, reading the slot again for each). Layout: flags in bits 0–7, then the two `int120`.
     * @param slot Where.
     * @param holding What.
     */
    function write(Holding storage slot, Holding memory holding) internal {
        uint256 packed = uint256(holding.flags) |
            (uint256(uint120(holding.available0)) << 8) |
            (uint256(uint120(holding.available1)) << 128);
        assembly ("memory-safe") {
            sstore(slot.slot, packed)
        }
    }
}
