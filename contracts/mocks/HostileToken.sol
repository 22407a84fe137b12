// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title An ERC-20 that attacks whoever pays it out, for adjudicator tests only.
/// @notice On an outgoing transfer from `victim` it can re-enter `victim` with `reentryCall`,
/// revert, return false, or burn all the gas it is given.
contract HostileToken is ERC20 {
    /// @notice What the token does when `victim` transfers tokens out.
    enum Mode {
        Honest,
        Reenter,
        Revert,
        ReturnFalse,
        BurnGas
    }

    Mode private _mode;
    address private _victim;
    bytes private _reentryCall;
    bool private _reentrySucceeded;

    error Refused();

    constructor() ERC20("Hostile", "HOST") {}

    /// @notice Mints `amount` to `to`; anyone may call it (test token).
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Arms the token against `victim`.
    function arm(Mode mode, address victim, bytes calldata reentryCall) external {
        _mode = mode;
        _victim = victim;
        _reentryCall = reentryCall;
    }

    /// @notice Whether a re-entrant call into the victim went through.
    function reentrySucceeded() external view returns (bool) {
        return _reentrySucceeded;
    }

    /// @inheritdoc ERC20
    function transfer(address to, uint256 value) public override returns (bool) {
        if (msg.sender == _victim) {
            if (_mode == Mode.Reenter) {
                (bool ok, ) = _victim.call(_reentryCall);
                if (ok) _reentrySucceeded = true;
            } else if (_mode == Mode.Revert) {
                revert Refused();
            } else if (_mode == Mode.ReturnFalse) {
                return false;
            } else if (_mode == Mode.BurnGas) {
                while (true) {}
            }
        }
        return super.transfer(to, value);
    }
}
