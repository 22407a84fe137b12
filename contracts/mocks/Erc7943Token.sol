// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title A token with the ERC-7943 (uRWA) checks and no ERC-1404 view, for tests only.
contract Erc7943Token is ERC20 {
    mapping(address account => bool) private _allowed;

    constructor() ERC20("uRWA Security", "URWA") {}

    /// @notice ERC-7943: whether `account` may send.
    /// @param account The account.
    /// @return allowed Whether it may send.
    function canSend(address account) external view returns (bool allowed) {
        return _allowed[account];
    }

    /// @notice ERC-7943: whether `account` may receive.
    /// @param account The account.
    /// @return allowed Whether it may receive.
    function canReceive(address account) external view returns (bool allowed) {
        return _allowed[account];
    }

    /// @notice ERC-7943: whether `amount` may move from `from` to `to`.
    /// @param from The sender.
    /// @param to The receiver.
    /// @param amount The amount.
    /// @return allowed Whether the transfer is allowed.
    function canTransfer(address from, address to, uint256 amount) external view returns (bool allowed) {
        return _allowed[from] && _allowed[to] && balanceOf(from) >= amount;
    }
}
