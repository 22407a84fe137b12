// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Another issuer's ERC-1404 token (not a Clearline RestrictedToken), for tests only.
/// @notice Refuses every transfer to an address that is not on its allow list; the node cannot
/// mirror its rules, so it must refuse to trade it.
contract Erc1404OnlyToken is ERC20 {
    mapping(address account => bool) private _allowed;

    constructor() ERC20("Other Issuer Security", "OIS") {}

    /// @notice Puts `account` on the allow list (anyone may call it: test token).
    /// @param account The account allowed to receive.
    function allow(address account) external {
        _allowed[account] = true;
    }

    /// @notice ERC-1404: 0 when `to` may receive, 1 otherwise.
    /// @param to The receiver.
    /// @return code The restriction code.
    function detectTransferRestriction(address, address to, uint256) external view returns (uint8 code) {
        return _allowed[to] ? 0 : 1;
    }

    /// @notice ERC-1404: the message of a restriction code.
    /// @param code The restriction code.
    /// @return message The human-readable message.
    function messageForTransferRestriction(uint8 code) external pure returns (string memory message) {
        return code == 0 ? "SUCCESS" : "RECEIVER_NOT_ALLOWED";
    }
}
