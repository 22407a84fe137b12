// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title An ERC-20 that can start burning a fee on every transfer, for adjudicator tests only.
/// @notice The receiver gets `value - fee` where `fee = value * feeBps / 10_000`; anyone may change the
/// fee, so a token that was honest when a channel opened can start charging later.
contract SwitchableFeeToken is ERC20 {
    uint256 private _feeBps;

    /// @notice A fee above 100%.
    error FeeTooHigh(uint256 feeBps);

    constructor() ERC20("Switchable fee", "SFEE") {}

    /// @notice Mints `amount` to `to`; anyone may call it (test token).
    /// @param to The receiver.
    /// @param amount How much.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the fee burnt on every transfer, in basis points.
    /// @param feeBps The fee (0 to 10,000).
    function setFee(uint256 feeBps) external {
        if (feeBps > 10_000) revert FeeTooHigh(feeBps);
        _feeBps = feeBps;
    }

    /// @notice The current fee in basis points.
    /// @return feeBps The fee.
    function fee() external view returns (uint256 feeBps) {
        return _feeBps;
    }

    /// @dev Transfers between holders burn the fee; mints and burns are untouched.
    function _update(address from, address to, uint256 value) internal override {
        uint256 charged = from == address(0) || to == address(0) ? 0 : (value * _feeBps) / 10_000;
        super._update(from, to, value - charged);
        if (charged != 0) super._update(from, address(0), charged);
    }
}
