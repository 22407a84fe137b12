// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title A replaceable rules contract of a restricted token (steps 5–10 of docs/compliance.md).
/// @author Clearline
/// @notice The token evaluates steps 1–4 (paused, frozen, balance) from its own state and then asks
/// its rules contract; a new regulation is a new rules contract, not a new token.
interface ITransferRules {
    /// @notice The restriction code for moving `value` from `from` to `to` (0 = allowed), given the
    /// receiver's current holdings. `from == 0` is a mint, `to == 0` a burn.
    /// @param from The sender (zero for a mint).
    /// @param to The receiver (zero for a burn).
    /// @param value The amount.
    /// @param receiverBalance The receiver's holdings before the transfer (on chain: `balanceOf(to)`).
    /// @return The first failing code of steps 5–10, or 0.
    function detect(address from, address to, uint256 value, uint256 receiverBalance) external view returns (uint8);

    /// @notice Steps 5–10 for a custodian releasing `value` of `from`'s tokens to `to`: both are the
    /// beneficial parties, so neither gets a custodian's exemption, even if it holds a CUSTODIAN
    /// attribute.
    /// @param from The beneficial owner whose tokens the custodian releases.
    /// @param to The receiver.
    /// @param value The amount.
    /// @param receiverBalance The receiver's holdings before the release (on chain: `balanceOf(to)`).
    /// @return The first failing code of steps 5–10, or 0.
    function detectCustodial(address from, address to, uint256 value, uint256 receiverBalance)
        external
        view
        returns (uint8);

    /// @notice Whether `account` is a custodian: it holds a valid CUSTODIAN attribute of value 1.
    /// @param account The account.
    /// @return True for a custodian.
    function isCustodian(address account) external view returns (bool);

    /// @notice Whether `spender` may move someone else's tokens with an allowance (`transferFrom`
    /// with spender ≠ from): it must be eligible (valid KYC and AML of value 1) or a custodian.
    /// @param spender The account calling `transferFrom`.
    /// @return True when allowed.
    function isSpenderAllowed(address spender) external view returns (bool);
}
