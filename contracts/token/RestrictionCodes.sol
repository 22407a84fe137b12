// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The ERC-1404 restriction code table of docs/compliance.md (the only one on chain).
/// @author Clearline
/// @notice Its TypeScript twin is `client/protocol/restriction-codes.ts`; a test compares the two byte
/// for byte through `RestrictedToken.messageForTransferRestriction`.
library RestrictionCodes {
    uint8 internal constant SUCCESS = 0x00;
    uint8 internal constant INSUFFICIENT_BALANCE = 0x52;
    uint8 internal constant PAUSED = 0x54;
    uint8 internal constant SENDER_LOCKED = 0x55;
    uint8 internal constant SENDER_NOT_ELIGIBLE = 0x56;
    uint8 internal constant RECEIVER_NOT_ELIGIBLE = 0x57;
    uint8 internal constant SENDER_FROZEN = 0xA0;
    uint8 internal constant RECEIVER_FROZEN = 0xA1;
    uint8 internal constant RECEIVER_NOT_ACCREDITED = 0xA2;
    uint8 internal constant RECEIVER_COUNTRY_BLOCKED = 0xA3;
    uint8 internal constant MAX_BALANCE_EXCEEDED = 0xA4;

    /// @notice The message for `code`; "Unknown restriction code" for codes outside the table.
    /// @param code An ERC-1404 restriction code.
    /// @return The message.
    function message(uint8 code) internal pure returns (string memory) {
        if (code == SUCCESS) return "Transfer allowed";
        if (code == INSUFFICIENT_BALANCE) return "Sender's balance is insufficient";
        if (code == PAUSED) return "Token transfers are paused";
        if (code == SENDER_LOCKED) return "Sender's tokens are locked up";
        if (code == SENDER_NOT_ELIGIBLE) return "Sender lacks valid KYC/AML";
        if (code == RECEIVER_NOT_ELIGIBLE) return "Receiver lacks valid KYC/AML";
        if (code == SENDER_FROZEN) return "Sender address is frozen";
        if (code == RECEIVER_FROZEN) return "Receiver address is frozen";
        if (code == RECEIVER_NOT_ACCREDITED) return "Receiver is not an accredited investor";
        if (code == RECEIVER_COUNTRY_BLOCKED) return "Receiver's country is blocked";
        if (code == MAX_BALANCE_EXCEEDED) return "Transfer would exceed the receiver's maximum balance";
        return "Unknown restriction code";
    }
}
