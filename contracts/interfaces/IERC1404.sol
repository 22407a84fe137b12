// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ERC-1404: Simple Restricted Token Standard
/// @author Clearline
/// @notice Tells, before a transfer, whether it would be allowed and why not.
interface IERC1404 {
    /// @notice The restriction code for a transfer of `value` from `from` to `to`; 0 means allowed.
    /// @param from The sender (zero for a mint).
    /// @param to The receiver (zero for a burn).
    /// @param value The amount in base units.
    /// @return The restriction code (0 = allowed).
    function detectTransferRestriction(address from, address to, uint256 value) external view returns (uint8);

    /// @notice The human-readable message for a restriction code.
    /// @param restrictionCode A code returned by {detectTransferRestriction}.
    /// @return The message.
    function messageForTransferRestriction(uint8 restrictionCode) external view returns (string memory);
}
